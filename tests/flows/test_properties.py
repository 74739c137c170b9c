"""Property tests: whatever people send, the engine stays valid, serialisable and in range."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.flows import (
    AnswerRecorded,
    ButtonPress,
    Expire,
    Input,
    Remind,
    SendMessage,
    StartSurvey,
    SurveyCompleted,
    SurveyStarted,
    SurveyState,
    Text,
    new_state,
    step,
)
from bot.flows.context import AgeBand, Language, Rater
from bot.flows.gsm7 import segments
from bot.flows.state import Answer, Question, state_problems
from tests.flows.conversation import READERS, Channel, make_context

# Built inside the test (cheaply: instruments, catalogues and lexicon are cached), so a run
# that has just recompiled the catalogues uses the new ones.
CONTEXTS = [
    (language, rater, band, channel, consent)
    for language in ("da", "en")
    for _, rater, band in READERS
    for channel in ("buttons", "sms")
    for consent in (False, True)
]
WORDS = [
    "7", " 7 ", "7,5", "7.5", "7 6 8 9", "7,6,8,9", "11", "-1", "0", "10", "syv", "seven",
    "elleve", "abc", "😀", "🙂🙁", "1", "5", "STOP", "stopp", "/stop", "START", "/start",
    "/start tok3n", "HJÆLP", "help", "tilbage", "back", "ja", "nej", "yes", "no", "-",
    "spring over", "vil ikke leve mere", "he hits me", "", "   ", "7/10", "ti ni otte syv",
]  # fmt: skip
BUTTONS = [
    "v:0", "v:7", "v:10", "v:2.5", "v:7.5", "v:11", "v:-1", "v:nan", "v:1e999", "v:", "yes",
    "no", "skip", "back", "stop", "help", "start", "junk",
]  # fmt: skip
STATE_IDS = [None, "consent", "outcome:me", "outcome:family", "feedback", "safety:continue"]
INSTRUMENTS = ["outcome-child", "session-child", "outcome-young-child", "goal", "nope"]

inputs: st.SearchStrategy[Input] = st.one_of(
    st.builds(Text, st.sampled_from(WORDS)),
    st.builds(Text, st.text(max_size=40)),
    st.builds(ButtonPress, st.sampled_from(BUTTONS), st.sampled_from(STATE_IDS)),
    st.builds(ButtonPress, st.text(max_size=20)),
    st.just(Expire()),
    st.just(Remind()),
    st.builds(
        StartSurvey,
        st.lists(st.sampled_from(INSTRUMENTS), max_size=3).map(tuple),
        st.booleans(),
        st.lists(st.sampled_from(["goal-1", "goal-2", "bad id!", "goal-9"]), max_size=4).map(
            tuple
        ),
    ),
)


def _plain_json(state: SurveyState) -> str:
    return json.dumps(state.to_dict(), ensure_ascii=False, sort_keys=True)


questions = st.builds(Question, st.text(), st.text(), st.text(), st.text(), st.text(),
                      st.sampled_from(["numeric", "faces"]), st.integers(0, 3))
answers = st.builds(Answer, st.one_of(st.none(), st.floats(0, 10).map(lambda x: round(x, 1))),
                    st.booleans())


@given(at=st.text(), resume_at=st.text(), questions=st.lists(questions, max_size=9),
       answers=st.dictionaries(st.text(), answers, max_size=9), misses=st.integers(0, 2),
       session=st.booleans())
def test_a_states_json_is_what_json_dumps_writes_whatever_its_strings(
    at: str, resume_at: str, questions: list[Question], answers: dict[str, Answer],
    misses: int, session: bool
) -> None:
    state = SurveyState(at=at, questions=tuple(questions), answers=answers, misses=misses,
                        resume_at=resume_at, session=session)
    assert state.to_json() == _plain_json(state)


@settings(max_examples=250, deadline=None)
@given(
    context=st.sampled_from(CONTEXTS),
    sequence=st.lists(inputs, max_size=30),
)
def test_any_input_sequence_keeps_a_valid_serialisable_state(
    context: tuple[Language, Rater, AgeBand, Channel, bool], sequence: list[Input]
) -> None:
    language, rater, band, channel, consent = context
    ctx = make_context(language, rater, band, channel, ask_consent=consent)
    state = new_state()
    started = completed = 0
    for event in [StartSurvey(), *sequence]:
        result = step(state, event, ctx)

        assert state_problems(result.state) == []
        assert result.state.to_json() == _plain_json(result.state)
        assert SurveyState.from_json(result.state.to_json()) == result.state
        for produced in result.events:
            if isinstance(produced, AnswerRecorded):
                assert produced.skipped == (produced.score is None)
                assert produced.score is None or 0.0 <= produced.score <= 10.0
            elif isinstance(produced, SendMessage):
                assert produced.message.text.strip()
                if ctx.capabilities.gsm7_segments is not None:
                    encoding, count = segments(produced.message.text)
                    assert encoding == "GSM-7" and count <= 2
            started += isinstance(produced, SurveyStarted)
            completed += isinstance(produced, SurveyCompleted)
        assert completed <= started <= completed + 1
        state = result.state
