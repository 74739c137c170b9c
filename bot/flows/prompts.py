"""Turning survey states into channel-neutral messages: wording, choices and answer hints."""

from __future__ import annotations

import unicodedata
from dataclasses import replace

from bot.flows.catalogue import fill
from bot.flows.context import FlowContext
from bot.flows.gsm7 import is_gsm7, segments
from bot.flows.instruments import FACE_SCORES, Instrument
from bot.flows.messages import Choice, Layout, OutgoingMessage
from bot.flows.state import Question as SurveyQuestion
from bot.flows.state import SurveyState

DEFAULT_FACE_EMOJI: tuple[str, ...] = ("😢", "🙁", "😐", "🙂", "😀")
MAX_GOAL_CHARS = 120
_EXAMPLE_ANSWERS = ("7", "6", "8", "9", "5", "7", "8", "6")
# The safety answer opens with words for the kind of concern, then says for every reader that
# it is automatic, who is told, and where to call (catalogue keys "safety.open.<kind>",
# "safety.reply", each with variants per audience).
_CONCERN_KIND = {
    "suicide": "harm", "self_harm": "harm",
    "violence": "hurt", "sexual_abuse": "hurt", "threats": "hurt", "forced_control": "hurt",
    "neglect": "home", "parent_substance": "home", "leave_home": "home",
    "asked_for_help": "help",
}
# Concerns about home: after one, the survey does not ask about home.
HOME_CONCERNS = frozenset({"violence", "sexual_abuse", "neglect", "parent_substance",
                           "leave_home", "forced_control"})
UNSAFE = "unsafe"  # the data of the quiet "I need to talk to an adult" button
# What a re-ask says before the question, for each rejection code.
_REASK: dict[str, tuple[str, ...]] = {
    "rating:empty": ("reask.not_a_number",),
    "rating:not_a_number": ("reask.not_a_number",),
    "rating:out_of_range": ("reask.out_of_range",),
    "rating:one_at_a_time": ("reask.one_at_a_time", "reask.again"),
    "rating:too_many": ("reask.too_many", "reask.again"),
    "button:unknown": ("reask.button", "reask.again"),
    "button:stale": ("reask.button", "reask.again"),
    "yes_no:unclear": ("reask.yes_no",),
    "yes_no:unclear_after_concern": ("reask.yes_no_safety",),
}
# Typography that looks the same in GSM-7, so an SMS stays cheap and readable.
_GSM7_LOOKALIKES = str.maketrans(
    {"–": "-", "—": "-", "‘": "'", "’": "'", "“": '"', "”": '"', "»": '"', "«": '"', "…": "..."}
)


_SCALE_CHOICES = tuple(Choice(str(n), f"v:{n}") for n in range(11))


def t(ctx: FlowContext, key: str, **values: str) -> str:
    """A catalogue message for the context's reader, with {child} filled in."""
    return ctx.catalogue.text(key, ctx.audience, child=ctx.child, **values)


def reask_keys(code: str, *, faces: bool = False, buttons: bool = True) -> tuple[str, ...]:
    """The catalogue keys that open a re-ask after a rejection with this code."""
    if faces and code.startswith("rating:") and code != "rating:too_many":
        # One hint for faces, whatever went wrong; without buttons there are no faces to pick.
        return ("reask.faces",) if buttons else ("reask.faces_text",)
    return _REASK.get(code, ("reask.again",))


def fit(ctx: FlowContext, text: str) -> str:
    """Make text safe for the channel: on SMS only GSM-7 characters (no emoji)."""
    if ctx.capabilities.gsm7_segments is None or is_gsm7(text):
        return text
    text = unicodedata.normalize("NFC", text.translate(_GSM7_LOOKALIKES))
    return "".join(char for char in text if is_gsm7(char))


def fits(ctx: FlowContext, text: str) -> bool:
    """True when text stays within the channel's SMS segment budget (if it has one)."""
    budget = ctx.capabilities.gsm7_segments
    return budget is None or segments(text)[1] <= budget


def _join(*parts: str) -> str:
    return "\n".join(part for part in parts if part)


def message(
    ctx: FlowContext,
    text: str,
    *,
    purpose: str,
    state_id: str = "",
    choices: tuple[Choice, ...] = (),
    layout: Layout = "none",
) -> OutgoingMessage:
    """An outgoing message; choices are dropped where the channel cannot show buttons."""
    if not ctx.capabilities.buttons:
        choices, layout = (), "none"
    meta = {"state_id": state_id} if state_id else {}
    return OutgoingMessage(fit(ctx, text), choices, layout, purpose, meta)


def with_help(ctx: FlowContext, outgoing: OutgoingMessage) -> OutgoingMessage:
    """The message with the quiet "I need to talk to an adult" button, where there are
    buttons (on SMS the help text names the word SOS instead)."""
    if not ctx.capabilities.buttons:
        return outgoing
    return replace(outgoing, aside=(Choice(t(ctx, "button.unsafe"), UNSAFE),))


def yes_no(ctx: FlowContext, text: str, *, purpose: str, state_id: str) -> OutgoingMessage:
    """A yes/no question: buttons where possible, else the text says how to answer."""
    if not ctx.capabilities.buttons:
        text = _join(text, t(ctx, "hint.yes_no"))
    choices = (Choice(t(ctx, "button.yes"), "yes"), Choice(t(ctx, "button.no"), "no"))
    return message(
        ctx, text, purpose=purpose, state_id=state_id, choices=choices, layout="yes_no"
    )


def _instrument_text(ctx: FlowContext, instrument: Instrument, key: str) -> str:
    return instrument.text.get(ctx.language, {}).get(key, "")


def _face_labels(ctx: FlowContext, instrument: Instrument) -> tuple[str, ...]:
    labels = instrument.face_labels.get(ctx.language)
    return labels or tuple(t(ctx, "faces.labels").split("|"))


def _face_emoji(instrument: Instrument) -> tuple[str, ...]:
    return instrument.scale.emoji or DEFAULT_FACE_EMOJI


def _goal_text(ctx: FlowContext, question: SurveyQuestion) -> str:
    words = " ".join(ctx.goals.get(question.item, "").split())
    if len(words) > MAX_GOAL_CHARS:
        words = words[: MAX_GOAL_CHARS - 3].rstrip() + "..."
    return words


def question_text(ctx: FlowContext, question: SurveyQuestion, key: str = "question") -> str:
    """The wording of a question (or its `short` label) for this reader."""
    instrument = ctx.instruments[question.instrument]
    if instrument.kind != "goal":
        return t_fill(ctx, instrument.item_text(ctx.language, question.template, key) or "")
    goal = _goal_text(ctx, question)
    variant = key
    if key == "question" and ctx.audience == "observer":
        variant += "_observer"
    if ctx.is_discreet or not goal:
        variant += "_discreet"
    found = instrument.item_text(ctx.language, question.template, variant)
    found = found or instrument.item_text(ctx.language, question.template, key)
    return t_fill(ctx, found or "", goal=goal, number=str(question.number))


def t_fill(ctx: FlowContext, template: str, **values: str) -> str:
    """Fill an instrument text's {child}, {goal} and {number} fields."""
    return fill(template, {"child": ctx.child, **values})


def _anchors(ctx: FlowContext, question: SurveyQuestion) -> tuple[str, str]:
    instrument = ctx.instruments[question.instrument]
    low = instrument.item_text(ctx.language, question.template, "low") or ""
    high = instrument.item_text(ctx.language, question.template, "high") or ""
    return low, high


def _first_of_instrument(state: SurveyState, question: SurveyQuestion) -> bool:
    same = [q for q in state.questions if q.instrument == question.instrument]
    return same[0].id == question.id


def block_of(state: SurveyState, question: SurveyQuestion) -> list[SurveyQuestion]:
    """The current question and the ones after it from the same instrument."""
    index = state.questions.index(question)
    block = []
    for following in state.questions[index:]:
        if following.instrument != question.instrument:
            break
        block.append(following)
    return block


def _intro(ctx: FlowContext, instrument: Instrument) -> str:
    if ctx.audience == "observer" and _instrument_text(ctx, instrument, "intro_observer"):
        return t_fill(ctx, _instrument_text(ctx, instrument, "intro_observer"))
    return t_fill(ctx, _instrument_text(ctx, instrument, "intro"))


def _uses_block(ctx: FlowContext, state: SurveyState, question: SurveyQuestion) -> bool:
    """Ask a whole instrument in one message (SMS), the first time it comes up."""
    instrument = ctx.instruments[question.instrument]
    return (
        ctx.capabilities.several_answers_per_message
        and not ctx.capabilities.buttons
        and question.scale == "numeric"
        and instrument.kind != "goal"
        and _first_of_instrument(state, question)
        and len(block_of(state, question)) > 1
        and not any(q.id in state.answers for q in block_of(state, question))
    )


def _block_message(
    ctx: FlowContext, state: SurveyState, question: SurveyQuestion, preface: str
) -> OutgoingMessage:
    instrument = ctx.instruments[question.instrument]
    low = _instrument_text(ctx, instrument, "low")
    high = _instrument_text(ctx, instrument, "high")
    lines = []
    block = block_of(state, question)
    for number, item in enumerate(block, start=1):
        line = f"{number}. {question_text(ctx, item, 'short')}"
        if _anchors(ctx, item) != (low, high):
            item_low, item_high = _anchors(ctx, item)
            line += f" ({t(ctx, 'scale.anchors', low=item_low, high=item_high)})"
        lines.append(line)
    example = " ".join(_EXAMPLE_ANSWERS[: len(block)])
    text = _join(
        preface,
        t_fill(ctx, _instrument_text(ctx, instrument, "title")),
        _intro(ctx, instrument),
        t(ctx, "block.intro", low=low, high=high),
        *lines,
        t(ctx, "block.answer", count=str(len(block)), example=example),
    )
    return message(ctx, text, purpose="question", state_id=question.id)


def _faces_hint(ctx: FlowContext, instrument: Instrument) -> str:
    labels = _face_labels(ctx, instrument)
    if ctx.capabilities.gsm7_segments is not None:
        pairs = [f"{n} = {label}" for n, label in enumerate(labels, start=1)]
        return _join(t(ctx, "hint.faces"), ", ".join(pairs))
    drawn = zip(_face_emoji(instrument), labels, strict=True)
    return _join(
        t(ctx, "hint.faces"),
        *(f"{n} = {emoji} {label}" for n, (emoji, label) in enumerate(drawn, start=1)),
    )


def question_message(
    ctx: FlowContext, state: SurveyState, question: SurveyQuestion, preface: str = ""
) -> OutgoingMessage:
    """The message that asks `question` (the whole instrument at once on SMS, first time)."""
    if _uses_block(ctx, state, question):
        block = _block_message(ctx, state, question, preface)
        if fits(ctx, block.text):
            return block
    instrument = ctx.instruments[question.instrument]
    intro = _intro(ctx, instrument) if _first_of_instrument(state, question) else ""
    if preface:
        intro = ""  # a re-ask or a step back: the person has seen the intro already
    buttons = ctx.capabilities.buttons
    if question.scale == "faces":
        emoji = _face_emoji(instrument)
        choices = tuple(
            Choice(e, f"v:{score:g}") for e, score in zip(emoji, FACE_SCORES, strict=True)
        )
        meta_text = "" if buttons else _faces_hint(ctx, instrument)
        layout: Layout = "faces"
    else:
        low, high = _anchors(ctx, question)
        anchors = t(ctx, "scale.anchors", low=low, high=high)
        meta_text = anchors if buttons else _join(anchors, t(ctx, "hint.scale"))
        choices = _SCALE_CHOICES
        layout = "scale"
    text = _join(preface, intro, question_text(ctx, question), meta_text)
    return with_help(ctx, message(
        ctx, text, purpose="question", state_id=question.id, choices=choices, layout=layout
    ))


def feedback_message(ctx: FlowContext, state: SurveyState, preface: str = "") -> OutgoingMessage:
    """The optional free-text question at the end, skippable."""
    key = "feedback.session" if state.session else "feedback.other"
    text = _join(preface, t(ctx, key))
    if not ctx.capabilities.buttons:
        text = _join(text, t(ctx, "hint.feedback_skip"))
    choices = (Choice(t(ctx, "button.skip"), "skip"),)
    return with_help(ctx, message(
        ctx, text, purpose="feedback", state_id=state.at, choices=choices, layout="list"
    ))


def safety_reply(ctx: FlowContext, category: str) -> str:
    """The short, warm answer to a concern: words for its kind, then for every reader that
    this is automatic and nobody reads along now, who is told, and the helplines."""
    kind = _CONCERN_KIND.get(category, "hurt")
    parts = [t(ctx, f"safety.open.{kind}"), t(ctx, "safety.reply")]
    if kind == "harm" and ctx.audience in ("youth", "adult"):  # Livslinien is for 13+
        parts.append(t(ctx, "safety.suicide_line"))
    return " ".join(part for part in parts if part)
