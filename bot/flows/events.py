"""The engine's inputs (what happened) and events (what the host must send or record)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

from bot.flows.messages import OutgoingMessage

# --- inputs ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StartSurvey:
    """Begin a survey. No instruments means the defaults for the context's rater and age."""

    instruments: tuple[str, ...] = ()
    session_took_place: bool = True  # session items are asked only after a session
    goals: tuple[str, ...] = ()  # goal ids (at most 3); their texts come from the context


@dataclass(frozen=True, slots=True)
class Text:
    """A message the person typed."""

    text: str


@dataclass(frozen=True, slots=True)
class ButtonPress:
    """A tapped choice. `state_id`, when the channel knows it, is the meta["state_id"] of the
    message the button belonged to, so an old keyboard cannot answer a newer question."""

    data: str
    state_id: str | None = None


@dataclass(frozen=True, slots=True)
class Expire:
    """The survey was left unanswered too long (the host decides when; 72 h by default)."""


@dataclass(frozen=True, slots=True)
class Remind:
    """Ask the waiting question once more, gently (the host decides when; 24 h by default)."""


Input = StartSurvey | Text | ButtonPress | Expire | Remind

# --- events ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SendMessage:
    """Send this message to the person."""

    message: OutgoingMessage


@dataclass(frozen=True, slots=True)
class SurveyStarted:
    """A survey began with these instruments (in the order they will be asked)."""

    instruments: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AnswerRecorded:
    """Store a score; the newest event for an item wins (the person may go back and change)."""

    instrument_id: str
    instrument_version: str
    item_id: str
    score: float | None  # 0-10 with one decimal; None when skipped
    skipped: bool
    wording: str = "stemme"  # whose wording was shown: "stemme" or a text pack's name


@dataclass(frozen=True, slots=True)
class FreeTextRecorded:
    """Store what the person wrote: the answer to the free-text question ("comment"), or
    anything else that was not an answer ("message": words at a rating question, a message
    outside a survey). Nothing a person writes is thrown away."""

    text: str
    kind: Literal["comment", "message"] = "comment"


@dataclass(frozen=True, slots=True)
class SurveyCompleted:
    """The survey is over (exactly once per survey); keep what was answered."""

    partial: bool  # some question has no score (not reached, or skipped)
    reason: str = "finished"  # finished|expired|stopped|declined|consent_unclear|safety|replaced


@dataclass(frozen=True, slots=True)
class SafetyConcern:
    """A message raised a risk (the lexicon or the risk model found it), or the person asked
    for an adult: flag it to the caseworker as urgent at once.

    `matched` is the lexicon's own term ("model" when the model found it alone), never the
    person's words. The words themselves come
    in the FreeTextRecorded just before (none for the help button); the host links the two."""

    category: str  # CONTRACT.md's ids: suicide, self_harm, ..., asked_for_help
    matched: str
    source: Literal["free_text", "message", "button"] = "message"


@dataclass(frozen=True, slots=True)
class ConsentChanged:
    """The person said yes, no, STOP or START to being contacted."""

    action: Literal["given", "declined", "withdrawn", "resumed"]
    text_version: str = ""  # for "given"/"declined": which consent text they answered


@dataclass(frozen=True, slots=True)
class HelpRequested:
    """The person asked for help (HJÆLP/HELP); the help text was sent."""


@dataclass(frozen=True, slots=True)
class InputRejected:
    """Input the engine could not use, with a stable code (e.g. "rating:out_of_range")."""

    code: str
    detail: str = ""  # an engine-side id (an instrument id), never the person's words


Event = (
    SendMessage
    | SurveyStarted
    | AnswerRecorded
    | FreeTextRecorded
    | SurveyCompleted
    | SafetyConcern
    | ConsentChanged
    | HelpRequested
    | InputRejected
)


def event_to_dict(event: Event) -> dict[str, Any]:
    """A JSON-ready form of an event: {"type": "AnswerRecorded", ...fields}."""
    return {"type": type(event).__name__, **dataclasses.asdict(event)}
