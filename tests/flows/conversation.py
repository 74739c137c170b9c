"""Test helpers: contexts for each reader and channel, and a conversation that keeps a log."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from bot.flows import (
    AnswerRecorded,
    ButtonPress,
    Capabilities,
    ConsentChanged,
    Event,
    FlowContext,
    FreeTextRecorded,
    Input,
    OutgoingMessage,
    SendMessage,
    StartSurvey,
    SurveyState,
    Text,
    new_state,
    step,
)
from bot.flows.catalogue import LOCALE_DIR
from bot.flows.context import AgeBand, Language, Rater

Channel = Literal["buttons", "sms"]
E = TypeVar("E")

TELEGRAM = Capabilities(buttons=True, max_length=4096)
SMS = Capabilities(
    buttons=False, max_length=1600, several_answers_per_message=True, gsm7_segments=2
)
CAPABILITIES: dict[Channel, Capabilities] = {"buttons": TELEGRAM, "sms": SMS}

# (name, rater, age band): one per kind of reader the wording is written for.
READERS: tuple[tuple[str, Rater, AgeBand], ...] = (
    ("young-child", "child", "0-5"),
    ("child", "child", "6-12"),
    ("youth", "child", "13-17"),
    ("adult", "child", "18+"),
    ("parent", "parent", "6-12"),
)
GOALS: dict[Language, dict[str, str]] = {
    "da": {"goal-1": "at komme i skole hver dag", "goal-2": "at skændes mindre med min mor"},
    "en": {"goal-1": "going to school every day", "goal-2": "arguing less with my mum"},
}


def make_context(
    language: Language,
    rater: Rater,
    age_band: AgeBand,
    channel: Channel,
    *,
    ask_consent: bool = False,
    child_name: str | None = "Emma",
) -> FlowContext:
    """A context as a host would build it: no name on SMS, the demo goals."""
    return FlowContext.create(
        language,
        rater,
        age_band,
        CAPABILITIES[channel],
        child_name=None if channel == "sms" else child_name,
        goals=GOALS[language],
        ask_consent=ask_consent,
    )


@dataclass
class Conversation:
    """Feeds inputs to the engine, round-tripping the state through JSON like a host would."""

    ctx: FlowContext
    state: SurveyState = field(default_factory=new_state)
    events: list[Event] = field(default_factory=list)
    log: list[tuple[Input, tuple[Event, ...]]] = field(default_factory=list)

    def send(self, event: Input) -> tuple[Event, ...]:
        """One step; returns that step's events."""
        result = step(self.state, event, self.ctx)
        self.state = SurveyState.from_json(result.state.to_json())
        self.events.extend(result.events)
        self.log.append((event, result.events))
        return result.events

    def say(self, text: str) -> tuple[Event, ...]:
        """The person types `text`."""
        return self.send(Text(text))

    def press(self, data: str) -> tuple[Event, ...]:
        """The person taps the button with this data."""
        return self.send(ButtonPress(data))

    def start(self, **kwargs: object) -> tuple[Event, ...]:
        """Start a survey (the host's StartSurvey)."""
        return self.send(StartSurvey(**kwargs))  # type: ignore[arg-type]

    @property
    def messages(self) -> list[OutgoingMessage]:
        """Every message sent so far."""
        return [e.message for e in self.events if isinstance(e, SendMessage)]

    @property
    def last_text(self) -> str:
        """The text of the last message sent."""
        return self.messages[-1].text

    @property
    def answers(self) -> dict[str, float | None]:
        """The newest score per item id (None when skipped)."""
        return {e.item_id: e.score for e in self.events if isinstance(e, AnswerRecorded)}

    def of_type(self, kind: type[E]) -> list[E]:
        """All events of one type so far."""
        return [e for e in self.events if isinstance(e, kind)]


def _choices_line(outgoing: OutgoingMessage) -> str:
    line = " ".join(f"[{choice.label}]" for choice in outgoing.choices)
    aside = " ".join(f"[{choice.label}]" for choice in outgoing.aside)
    return f"{line}  ~ {aside}".strip() if aside else line


def _describe(value: object) -> str:
    shown = ", ".join(
        f"{f.name}={getattr(value, f.name)!r}" for f in dataclasses.fields(value)  # type: ignore[arg-type]
    )
    return f"{type(value).__name__}({shown})"


def transcript(conversation: Conversation, title: str, person: str) -> str:
    """The conversation as the person saw it, then what was stored."""
    lines = [f"# {title}", "# regenerate: pytest tests/flows --update-golden", ""]
    last_choices: dict[str, str] = {}
    for given, events in conversation.log:
        if isinstance(given, Text):
            lines.append(f"{person}: {given.text}")
        elif isinstance(given, ButtonPress):
            lines.append(f"{person}: [{last_choices.get(given.data, given.data)}]")
        else:
            lines.append(f"## host: {_describe(given)}")
        for event in events:
            if isinstance(event, SendMessage):
                first, *rest = event.message.text.split("\n")
                lines.append(f"BOT: {first}")
                lines.extend(f"     {line}" for line in rest)
                if event.message.choices or event.message.aside:
                    lines.append(f"     {_choices_line(event.message)}")
                    last_choices = {c.data: c.label
                                    for c in (*event.message.choices, *event.message.aside)}
            elif not isinstance(event, AnswerRecorded | FreeTextRecorded | ConsentChanged):
                lines.append(f"     ({_describe(event)})")
    lines += ["", "## stored"]
    for event in conversation.events:
        if isinstance(event, AnswerRecorded):
            score = "skipped" if event.skipped else f"{event.score}"
            lines.append(
                f"answer: {event.instrument_id} v{event.instrument_version} "
                f"{event.item_id} = {score}"
            )
        elif isinstance(event, FreeTextRecorded):
            lines.append(f"free text ({event.kind}): {event.text!r}")
        elif isinstance(event, ConsentChanged):
            lines.append(f"consent: {event.action} {event.text_version}".rstrip())
    return "\n".join(lines) + "\n"


def read_catalogue(language: str) -> Catalog:
    """A language's .po source, read with Babel."""
    with (LOCALE_DIR / language / "LC_MESSAGES" / "flows.po").open("rb") as handle:
        return read_po(handle, locale=language)


def po_messages(language: str) -> dict[str, str]:
    """Every message of a language's .po source, by key."""
    return {str(m.id): str(m.string) for m in read_catalogue(language) if m.id}
