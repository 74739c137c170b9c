"""Every message that can go by SMS fits in two GSM-7 segments, in every language and wording."""

from __future__ import annotations

import dataclasses

import pytest

from bot.flows import (
    ButtonPress,
    FlowContext,
    Input,
    Remind,
    SendMessage,
    StartSurvey,
    SurveyState,
    Text,
    new_state,
    step,
)
from bot.flows.context import AgeBand, Language, Rater
from bot.flows.gsm7 import segments
from bot.flows.state import CONSENT, FEEDBACK, SAFETY, Answer
from tests.flows.conversation import READERS, make_context, po_messages

LIMIT = 2
THREE_GOALS = {"goal-1": "a", "goal-2": "b", "goal-3": "c"}
PROBES: list[Input] = [
    Text("abc"),
    Text("11"),
    Text("7 6 8 9 5 4 3 2 1"),
    Text("tilbage"),
    Text("HJÆLP"),
    Text("START"),
    Text("STOP"),
    Text("måske"),
    Text("vil ikke leve mere"),
    Text("nej"),
    Text("ja"),
    Text("7"),
    ButtonPress("v:7", state_id="elsewhere"),
    Remind(),
]


SMS_READERS = [
    (language, rater, band)
    for language in ("da", "en")
    for _, rater, band in READERS + (("teacher", "teacher", "6-12"),)
]


def _sms_context(language: Language, rater: Rater, band: AgeBand) -> FlowContext:
    ctx = make_context(language, rater, band, "sms", ask_consent=True)
    return dataclasses.replace(ctx, goals=THREE_GOALS)


def _positions(ctx: FlowContext) -> list[SurveyState]:
    """The survey at every place it can wait, fresh and with earlier questions answered."""
    started = step(new_state(), StartSurvey(goals=tuple(THREE_GOALS)), ctx).state
    ids = [q.id for q in started.questions]
    states = [started, dataclasses.replace(started, at=CONSENT)]
    for index, question_id in enumerate([*ids, FEEDBACK]):
        answered = {earlier: Answer(5.0) for earlier in ids[:index]}
        for answers in ({}, answered):
            states.append(dataclasses.replace(started, at=question_id, answers=answers))
            states.append(dataclasses.replace(started, at=question_id, answers=answers, misses=2))
        states.append(dataclasses.replace(started, at=SAFETY, resume_at=question_id))
    return states


@pytest.mark.parametrize(("language", "rater", "band"), SMS_READERS)
def test_every_sms_the_engine_can_send_fits_in_two_segments(
    language: Language, rater: Rater, band: AgeBand
) -> None:
    ctx = _sms_context(language, rater, band)
    sent: set[str] = set()
    for state in _positions(ctx):
        for probe in PROBES:
            for event in step(state, probe, ctx).events:
                if isinstance(event, SendMessage):
                    sent.add(event.message.text)

    too_long = [text for text in sent if segments(text) not in (("GSM-7", 1), ("GSM-7", 2))]
    assert too_long == []
    assert len(sent) > 40  # the sweep really reached the prompts


@pytest.mark.parametrize(("language", "rater", "band"), SMS_READERS)
def test_every_catalogue_message_fits_in_two_segments(
    language: Language, rater: Rater, band: AgeBand
) -> None:
    ctx = _sms_context(language, rater, band)
    for key in po_messages(ctx.language):
        text = ctx.catalogue.text(key, child=ctx.child, low="x" * 20, high="x" * 20)

        encoding, count = segments(text)

        assert encoding == "GSM-7" and count <= LIMIT, key
