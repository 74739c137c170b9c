"""The risk lexicon and what the engine does when a message suggests a child is at risk."""

from __future__ import annotations

import pytest

from bot.flows import AnswerRecorded, FreeTextRecorded, SafetyConcern, SurveyCompleted
from bot.flows.safety import Lexicon, fold, load_lexicon
from tests.flows.conversation import Conversation, make_context

HITS = [
    ("vil ikke leve mere", "suicide"),
    ("jeg vil ikke leve længere", "suicide"),
    ("Jeg VIL IKKE LEVE", "suicide"),
    ("jeg viiil ikke leeeve mere", "suicide"),
    ("jeg har ikke lyst til at leve", "suicide"),
    ("selvmord", "suicide"),
    ("jeg tænker på selvmord", "suicide"),
    ("selvmordstanker", "suicide"),
    ("slevmord", "suicide"),  # swapped letters
    ("selvmor", "suicide"),  # a letter missing
    ("jeg ville ønske jeg var død", "suicide"),
    ("jeg vil bare dø", "suicide"),
    ("I want to kill myself", "suicide"),
    ("i wanna kill my self", "suicide"),
    ("I don't want to live anymore", "suicide"),
    ("i dont want to be alive", "suicide"),
    ("i wish i was dead", "suicide"),
    ("cutter", "self_harm"),
    ("jeg cuttede igen i går", "self_harm"),
    ("jeg skærer i armene", "self_harm"),
    ("I cut myself", "self_harm"),
    ("self harm", "self_harm"),
    ("slår mig", "violence"),
    ("min far slår mig", "violence"),
    ("min stedfar slog mig i går", "violence"),
    ("mor bankede mig", "violence"),
    ("he hits me", "violence"),
    ("my stepdad hit me", "violence"),
    ("hun rører ved mig", "sexual_abuse"),
    ("he touched me", "sexual_abuse"),
    ("jeg vil flytte hjemmefra", "leave_home"),
    ("jeg tør ikke tage hjem", "leave_home"),
    ("I want to move away from home", "leave_home"),
    ("I don't want to go home", "leave_home"),
    ("I don't want to live at home", "leave_home"),
    ("jeg er bange for min far", "leave_home"),
    ("I am scared of my stepdad", "leave_home"),
]
NON_HITS = [
    "jeg slog en bold",
    "vi spillede bold",
    "jeg er glad",
    "jeg slog mig på cyklen",
    "det gør mig ondt at høre",
    "det var voldsomt sjovt",
    "I hit the ball",
    "the outing was fun",
    "we are moving to a new house",
    "vi skal flytte til Aarhus",
    "jeg kan ikke leve uden min telefon",
    "I don't want to live in Aarhus",
    "min mor er sød",
    "I love my mum",
    "jeg vil gerne hjem",
    "Mere tid til at lege",
    "7",
]


@pytest.mark.parametrize(("text", "category"), HITS)
def test_risk_phrases_are_found_despite_case_inflection_and_misspelling(
    text: str, category: str
) -> None:
    hits = load_lexicon().scan(text)

    assert category in [hit.category for hit in hits]


@pytest.mark.parametrize("text", NON_HITS)
def test_everyday_talk_is_not_flagged(text: str) -> None:
    assert load_lexicon().scan(text) == ()


def test_the_match_names_the_lexicon_term_not_the_childs_words() -> None:
    hits = load_lexicon().scan("Jeg hedder Emma og min far slår mig hver dag")

    assert [(hit.category, hit.term) for hit in hits] == [("violence", "slår mig")]


def test_folding_treats_danish_letters_and_their_spellings_alike() -> None:
    assert fold("SLÅR") == fold("slaar") == fold("slar")
    assert fold("død") == fold("doed")
    assert fold("dræbe") == fold("draebe")


def test_an_organisation_can_supply_its_own_lexicon() -> None:
    lexicon = Lexicon.from_toml(
        'version = "1"\n[[terms]]\ncategory = "bullying"\nterm = "mobbet"\n'
        'patterns = ["mobbe*"]\n'
    )

    assert [hit.category for hit in lexicon.scan("jeg bliver mobbet")] == ["bullying"]
    assert lexicon.scan("jeg er glad") == ()


def test_a_hit_during_the_survey_flags_answers_warmly_and_asks_to_go_on() -> None:
    conv = Conversation(make_context("da", "child", "6-12", "buttons"))
    conv.start()

    conv.say("jeg vil ikke leve mere")

    concerns = conv.of_type(SafetyConcern)
    assert concerns == [SafetyConcern("suicide", "vil ikke leve", "message")]
    reply, question = conv.messages[-2:]
    assert "116 111" in reply.text and "112" in reply.text
    assert question.layout == "yes_no"
    assert conv.state.at == "safety:continue"


def test_the_survey_goes_on_only_if_the_child_wants_to() -> None:
    going_on = Conversation(make_context("en", "child", "13-17", "sms"))
    going_on.start()
    going_on.say("he hits me")
    stopping = Conversation(make_context("en", "child", "13-17", "sms"))
    stopping.start()
    stopping.say("he hits me")

    going_on.say("yes")
    stopping.say("no")

    assert going_on.state.at == "outcome:me"
    assert stopping.of_type(SurveyCompleted) == [SurveyCompleted(partial=True, reason="safety")]


def test_a_hit_in_the_free_text_is_stored_flagged_and_ends_the_survey() -> None:
    conv = Conversation(make_context("da", "child", "6-12", "sms"))
    conv.start(session_took_place=False)
    conv.say("7 7 7 7")

    conv.say("han slår mig")

    assert conv.of_type(FreeTextRecorded) == [FreeTextRecorded("han slår mig")]
    assert conv.of_type(SafetyConcern) == [SafetyConcern("violence", "slår mig", "free_text")]
    assert "116 111" in conv.last_text
    assert conv.of_type(SurveyCompleted) == [SurveyCompleted(partial=False, reason="finished")]


def test_adults_get_an_answer_for_adults() -> None:
    conv = Conversation(make_context("da", "parent", "6-12", "buttons"))
    conv.start()

    conv.say("han slår hende")

    assert conv.of_type(SafetyConcern)
    assert "112" in conv.messages[-2].text
    assert "BørneTelefonen" in conv.messages[-2].text  # for the child's sake
    # No score was taken from the disclosure; the home item is skipped, not asked later.
    assert [(a.item_id, a.score) for a in conv.of_type(AnswerRecorded)] == [("family", None)]
