"""What the engine does with words that are not answers, and with a child who is not safe."""

from __future__ import annotations

from bot.flows import (
    AnswerRecorded,
    FreeTextRecorded,
    InputRejected,
    SafetyConcern,
    SurveyCompleted,
)
from bot.flows.catalogue import load_catalogue
from tests.flows.conversation import Conversation, make_context


def child(channel: str = "buttons", language: str = "da", band: str = "6-12") -> Conversation:
    conv = Conversation(make_context(language, "child", band, channel))  # type: ignore[arg-type]
    conv.start()
    return conv


def test_words_at_a_rating_question_are_kept_thanked_and_the_question_asked_again() -> None:
    conv = child()

    conv.say("jeg er så ked af det hele tiden")

    assert conv.of_type(FreeTextRecorded) == [
        FreeTextRecorded("jeg er så ked af det hele tiden", "message")]
    assert "din sagsbehandler" in conv.last_text
    assert conv.state.at == "outcome:me" and conv.state.misses == 0
    assert InputRejected("rating:words") in conv.events


def test_a_botched_number_is_kept_and_counted_as_a_miss() -> None:
    conv = child("sms")

    conv.say("7x")

    assert conv.of_type(FreeTextRecorded) == [FreeTextRecorded("7x", "message")]
    assert conv.state.misses == 1


def test_a_message_outside_any_survey_is_kept_and_answered_honestly() -> None:
    conv = Conversation(make_context("da", "parent", "6-12", "sms"))

    conv.say("hvornår er næste møde")

    assert conv.of_type(FreeTextRecorded) == [FreeTextRecorded("hvornår er næste møde",
                                                               "message")]
    assert "automatisk" in conv.last_text and "112" in conv.last_text


def test_every_chat_question_carries_the_quiet_button_for_an_adult() -> None:
    conv = child()

    question = conv.messages[-1]

    assert [c.data for c in question.aside] == ["unsafe"]
    assert question.aside[0].label == "Jeg har brug for at tale med en voksen"


def test_sms_questions_carry_no_button_and_the_help_text_names_sos() -> None:
    conv = child("sms")

    conv.say("hjælp")

    assert all(not m.aside for m in conv.messages)
    assert "SOS" in conv.messages[-2].text


def test_the_button_raises_an_urgent_concern_without_words_and_pauses_the_survey() -> None:
    conv = child()

    conv.press("unsafe")

    assert conv.of_type(SafetyConcern) == [SafetyConcern("asked_for_help", "button", "button")]
    assert conv.of_type(FreeTextRecorded) == []
    reply, pause = conv.messages[-2:]
    assert "112" in reply.text and "116 111" in reply.text and "automatisk" in reply.text
    assert "behøver ikke" in pause.text and pause.layout == "yes_no"


def test_sos_by_sms_raises_the_same_concern() -> None:
    conv = child("sms")

    conv.say("SOS")

    assert [c.category for c in conv.of_type(SafetyConcern)] == ["asked_for_help"]


def test_the_reply_fits_the_kind_of_concern_and_the_reader() -> None:
    hurt = child()
    harm_child = child()
    harm_youth = child(band="13-17")

    hurt.say("min far slår mig")
    harm_child.say("jeg vil ikke leve mere")
    harm_youth.say("jeg vil ikke leve mere")

    assert "ikke din skyld" in hurt.messages[-2].text
    assert "Livslinien" not in harm_child.messages[-2].text  # for 13 and over
    assert "Livslinien" in harm_youth.messages[-2].text
    for conv in (hurt, harm_child, harm_youth):
        assert "ingen læser med lige nu" in conv.messages[-2].text
        assert "Din sagsbehandler får besked" in conv.messages[-2].text


def test_after_a_disclosure_about_home_the_survey_never_asks_about_home() -> None:
    conv = child()

    conv.say("min far slår mig")
    conv.press("yes")
    conv.press("v:5")

    family = [a for a in conv.of_type(AnswerRecorded) if a.item_id == "family"]
    assert family and family[-1].skipped
    asked = [m.text for m in conv.messages if m.meta.get("state_id") == "outcome:family"]
    assert asked == []
    assert conv.state.at == "outcome:school"


def test_a_disclosure_at_the_consent_question_is_not_answered_with_hello() -> None:
    conv = Conversation(make_context("da", "child", "13-17", "buttons", ask_consent=True))
    conv.start()

    conv.say("min stedfar rører ved mig om natten")

    assert [c.category for c in conv.of_type(SafetyConcern)] == ["sexual_abuse"]
    assert not conv.last_text.startswith("Hej")
    assert conv.state.at == "consent"


def test_not_knowing_whether_to_go_on_gets_a_kind_answer() -> None:
    conv = child()
    conv.say("jeg vil ikke leve mere")

    conv.say("ved ikke")

    expected = load_catalogue("da").text("reask.yes_no_safety")
    assert conv.last_text.startswith(expected)


def test_a_disclosure_in_the_last_comment_is_stored_as_the_comment_and_ends_kindly() -> None:
    conv = Conversation(make_context("en", "child", "13-17", "sms"))
    conv.start(session_took_place=False)
    conv.say("7 7 7 7")

    conv.say("my stepdad hits me")

    assert conv.of_type(FreeTextRecorded) == [FreeTextRecorded("my stepdad hits me")]
    assert conv.of_type(SafetyConcern)[0].source == "free_text"
    assert conv.of_type(SurveyCompleted) == [SurveyCompleted(partial=False, reason="finished")]
