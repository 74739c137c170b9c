"""The conversation engine's behaviour, one rule per test."""

from __future__ import annotations

import dataclasses

import pytest

from bot.flows import (
    AnswerRecorded,
    ButtonPress,
    ConsentChanged,
    Expire,
    FreeTextRecorded,
    HelpRequested,
    InputRejected,
    Remind,
    SendMessage,
    StartSurvey,
    SurveyCompleted,
    SurveyStarted,
    SurveyState,
    default_instruments,
    event_to_dict,
    new_state,
    step,
)
from bot.flows.state import StateError
from tests.flows.conversation import Conversation, make_context


def _child(channel: str = "buttons", **kwargs: object) -> Conversation:
    return Conversation(make_context("da", "child", "6-12", channel, **kwargs))  # type: ignore[arg-type]


def test_the_survey_asks_outcome_then_session_then_goals_then_free_text() -> None:
    conv = _child()

    conv.start(goals=("goal-1",))

    assert [q.id for q in conv.state.questions] == [
        "outcome:me",
        "outcome:family",
        "outcome:school",
        "outcome:overall",
        "session:heard",
        "session:topics",
        "session:approach",
        "session:overall",
        "goal:goal-1",
    ]
    assert conv.state.at == "outcome:me"
    started = SurveyStarted(("outcome-child", "session-child", "goal"))
    assert conv.of_type(SurveyStarted) == [started]


def test_session_items_are_asked_only_when_a_session_took_place() -> None:
    conv = _child()

    conv.start(session_took_place=False)

    assert all(q.id.startswith("outcome:") for q in conv.state.questions)


@pytest.mark.parametrize(
    ("rater", "age_band", "expected"),
    [
        ("child", "0-5", ("outcome-young-child", "session-young-child")),
        ("child", "6-12", ("outcome-child", "session-child")),
        ("child", "13-17", ("outcome-youth", "session-youth")),
        ("child", "18+", ("outcome-adult", "session-adult")),
        ("parent", "6-12", ("outcome-observer", "session-adult")),
        ("teacher", "6-12", ("outcome-observer",)),
    ],
)
def test_each_rater_gets_the_instruments_for_their_age(
    rater: str, age_band: str, expected: tuple[str, ...]
) -> None:
    assert default_instruments(rater, age_band) == expected  # type: ignore[arg-type]


def test_a_scale_question_offers_eleven_buttons() -> None:
    conv = _child()

    conv.start()

    question = conv.messages[-1]
    assert question.layout == "scale"
    assert [c.data for c in question.choices] == [f"v:{n}" for n in range(11)]
    assert question.meta["state_id"] == "outcome:me"


def test_under_sixes_answer_with_five_faces() -> None:
    conv = Conversation(make_context("da", "child", "0-5", "buttons"))
    conv.start()

    conv.press("v:7.5")

    assert conv.messages[-1].layout == "faces"
    assert [c.data for c in conv.messages[-1].choices] == ["v:0", "v:2.5", "v:5", "v:7.5", "v:10"]
    assert conv.answers == {"me": 7.5}


def test_without_buttons_the_text_says_how_to_answer() -> None:
    conv = _child("sms")

    conv.start(session_took_place=False)
    conv.say("7")

    assert conv.messages[-1].choices == ()
    assert "Svar med et tal fra 0 til 10" in conv.last_text


def test_a_rating_is_recorded_with_instrument_version_and_item() -> None:
    conv = _child()
    conv.start()

    events = conv.say("7,5")

    assert AnswerRecorded("outcome-child", "1", "me", 7.5, False, "stemme") in events


def test_a_bad_answer_gets_a_kind_reask_and_no_exception() -> None:
    conv = _child()
    conv.start()

    events = conv.say("elleve")

    assert InputRejected("rating:out_of_range") in events
    assert conv.state.at == "outcome:me"
    assert conv.last_text.startswith("Tallet skal være fra 0 til 10.")


def test_after_three_misses_the_item_is_skipped_and_marked() -> None:
    conv = _child()
    conv.start()

    for text in ("abc", "11", "hmm"):
        conv.say(text)

    assert AnswerRecorded("outcome-child", "1", "me", None, True, "stemme") in conv.events
    assert conv.state.at == "outcome:family"
    assert "springer det spørgsmål over" in conv.last_text


def test_back_lets_the_person_change_the_previous_answer() -> None:
    conv = _child()
    conv.start()
    conv.say("3")

    conv.say("tilbage")
    conv.say("8")

    assert conv.answers["me"] == 8.0
    assert conv.state.at == "outcome:family"


def test_back_at_the_first_question_says_so() -> None:
    conv = _child()
    conv.start()

    events = conv.say("back")

    assert InputRejected("back:nothing_before") in events
    assert conv.state.at == "outcome:me"


def test_several_answers_fill_the_items_in_order_on_sms() -> None:
    conv = _child("sms")
    conv.start()

    conv.say("7 6 8 9")

    assert conv.answers == {"me": 7.0, "family": 6.0, "school": 8.0, "overall": 9.0}
    assert conv.state.at == "session:heard"


def test_several_answers_never_spill_into_the_next_instrument() -> None:
    conv = _child("sms")
    conv.start()

    events = conv.say("7 6 8 9 5")

    assert InputRejected("rating:too_many") in events
    assert conv.answers == {}


def test_consent_is_asked_first_when_the_person_has_not_agreed() -> None:
    conv = _child(ask_consent=True)

    conv.start()

    assert conv.state.at == "consent"
    assert conv.messages[-1].layout == "yes_no"
    assert not conv.of_type(AnswerRecorded)


def test_yes_to_consent_records_it_and_starts_the_survey() -> None:
    conv = _child("sms", ask_consent=True)
    conv.start()

    conv.say("JA")

    consent = conv.of_type(ConsentChanged)
    assert [c.action for c in consent] == ["given"]
    assert consent[0].text_version.startswith("consent.ask.child@da:")
    assert conv.state.at == "outcome:me"


def test_no_to_consent_says_a_kind_goodbye() -> None:
    conv = _child(ask_consent=True)
    conv.start()

    conv.press("no")

    assert [c.action for c in conv.of_type(ConsentChanged)] == ["declined"]
    assert conv.of_type(SurveyCompleted) == [SurveyCompleted(partial=True, reason="declined")]
    assert "START" in conv.last_text


@pytest.mark.parametrize("word", ["STOP", "stopp", "Afmeld", "/stop", " stop "])
def test_stop_withdraws_consent_at_any_point_and_ends_the_survey(word: str) -> None:
    conv = _child()
    conv.start()
    conv.say("7")

    conv.say(word)

    assert [c.action for c in conv.of_type(ConsentChanged)] == ["withdrawn"]
    assert conv.of_type(SurveyCompleted) == [SurveyCompleted(partial=True, reason="stopped")]
    assert "START" in conv.last_text
    assert conv.messages[-1].purpose == "stop"


def test_nothing_more_is_said_after_stop_until_start() -> None:
    conv = _child()
    conv.start()
    conv.say("STOP")
    before = len(conv.messages)

    conv.say("hallo?")
    conv.say("START")

    assert len(conv.messages) == before + 1
    assert conv.of_type(ConsentChanged)[-1] == ConsentChanged("resumed")


def test_help_explains_and_repeats_the_current_question() -> None:
    conv = _child()
    conv.start()
    conv.say("7")

    events = conv.say("HJÆLP")

    assert HelpRequested() in events
    help_text, repeated = [e.message for e in events if isinstance(e, SendMessage)]
    assert "STOP" in help_text.text and "116 111" in help_text.text
    assert repeated.meta["state_id"] == "outcome:family"
    assert conv.state.at == "outcome:family"


def test_an_old_button_cannot_answer_a_newer_question() -> None:
    conv = _child()
    conv.start()
    conv.press("v:7")

    events = conv.send(ButtonPress("v:2", state_id="outcome:me"))

    assert InputRejected("button:stale") in events
    assert conv.answers == {"me": 7.0}


def test_the_free_text_question_can_be_skipped_or_answered() -> None:
    skipping, writing = _child("sms"), _child("sms")
    for conv in (skipping, writing):
        conv.start(session_took_place=False)
        conv.say("7 7 7 7")

    skipping.say("nej")
    writing.say("Mere tid til at lege")

    assert skipping.of_type(FreeTextRecorded) == []
    assert writing.of_type(FreeTextRecorded) == [FreeTextRecorded("Mere tid til at lege")]
    for conv in (skipping, writing):
        assert conv.of_type(SurveyCompleted) == [SurveyCompleted(partial=False)]


def test_a_reminder_repeats_the_waiting_question_gently() -> None:
    conv = _child()
    conv.start()
    conv.say("7")

    events = conv.send(Remind())

    [sent] = [e.message for e in events if isinstance(e, SendMessage)]
    assert sent.purpose == "reminder"
    assert sent.meta["state_id"] == "outcome:family"
    assert sent.text.startswith("Vi vil stadig gerne høre dine svar.")
    assert conv.state.at == "outcome:family"


def test_an_unfinished_survey_expires_and_keeps_its_answers() -> None:
    conv = _child()
    conv.start()
    conv.say("7")

    conv.send(Expire())

    assert conv.of_type(SurveyCompleted) == [SurveyCompleted(partial=True, reason="expired")]
    assert conv.answers == {"me": 7.0}
    assert conv.state.at == "end:expired"


def test_goals_are_rated_in_the_childs_own_words() -> None:
    conv = _child()
    conv.start(session_took_place=False, goals=("goal-1",))

    conv.say("7 ")
    for _ in range(3):
        conv.say("7")

    assert "at komme i skole hver dag" in conv.last_text
    conv.say("4")
    assert AnswerRecorded("goal", "1", "goal-1", 4.0, False, "stemme") in conv.events


def test_sms_never_names_the_child_or_spells_out_a_goal() -> None:
    ctx = dataclasses.replace(make_context("da", "parent", "6-12", "sms"), child_name="Emma")
    conv = Conversation(ctx)

    conv.start(goals=("goal-1",))
    conv.say("7 7 7 7")
    conv.say("7 7 7 7")

    text = "\n".join(m.text for m in conv.messages)
    assert "Emma" not in text
    assert "skole hver dag" not in text
    assert "dit barn" in text and "mål nummer 1" in text


def test_teachers_hear_of_the_child_not_your_child() -> None:
    conv = Conversation(make_context("en", "teacher", "6-12", "sms"))

    conv.start()

    assert "the child" in conv.last_text
    assert "your child" not in conv.last_text


def test_a_new_survey_replaces_an_unfinished_one() -> None:
    conv = _child()
    conv.start()

    conv.start()

    assert conv.of_type(SurveyCompleted) == [SurveyCompleted(partial=True, reason="replaced")]
    assert conv.state.at == "outcome:me"


def test_unknown_instruments_are_reported_not_raised() -> None:
    result = step(new_state(), StartSurvey(instruments=("no-such",)), _child().ctx)

    assert InputRejected("start:unknown_id", "no-such") in result.events
    assert InputRejected("start:nothing_to_ask") in result.events
    assert result.state == new_state()


def test_text_with_no_survey_running_gets_a_short_answer() -> None:
    conv = _child()

    events = conv.say("hej")

    assert InputRejected("survey:not_active") in events
    assert conv.messages[-1].purpose == "idle"


def test_state_ids_are_stable_strings_and_the_state_round_trips_as_json() -> None:
    conv = _child()
    conv.start(goals=("goal-1",))
    conv.say("7")

    restored = SurveyState.from_json(conv.state.to_json())

    assert restored == conv.state
    assert restored.at == "outcome:family"
    assert SurveyState.from_dict(conv.state.to_dict()) == conv.state


def test_a_corrupt_state_is_refused_loudly() -> None:
    data = _child().state.to_dict() | {"at": "outcome:7"}

    with pytest.raises(StateError):
        SurveyState.from_dict(data)


def test_events_have_a_json_form_for_the_host() -> None:
    conv = _child()
    conv.start()

    answer = event_to_dict(conv.say("7")[0])

    assert answer == {
        "type": "AnswerRecorded",
        "instrument_id": "outcome-child",
        "instrument_version": "1",
        "item_id": "me",
        "score": 7.0,
        "skipped": False,
        "wording": "stemme",
    }
