"""Golden transcripts: whole conversations per reader, language and channel, as people see them."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.flows import Expire, SurveyCompleted
from bot.flows.context import AgeBand, Language, Rater
from bot.flows.state import CONSENT, FEEDBACK
from tests.flows.conversation import READERS, Channel, Conversation, make_context, transcript

GOLDEN = Path(__file__).parent.parent / "transcripts"

_WORDS: dict[Language, dict[str, str]] = {
    "da": {
        "yes": "ja",
        "no": "nej",
        "back": "tilbage",
        "vague": "hmm ved ikke helt",
        "word": "syv",
        "help": "hjælp",
    },
    "en": {
        "yes": "yes",
        "no": "no",
        "back": "back",
        "vague": "hmm not sure",
        "word": "seven",
        "help": "help",
    },
}
_FEEDBACK: dict[Language, dict[str, str]] = {
    "da": {
        "young-child": "Hun vil gerne tegne igen næste gang",
        "child": "Mere tid til at lege",
        "youth": "At vi går en tur i stedet for at sidde ned",
        "adult": "Lidt kortere møder",
        "parent": "Det var godt, at Emma selv fik lov at fortælle",
    },
    "en": {
        "young-child": "She would like to draw again next time",
        "child": "More time to play",
        "youth": "Going for a walk instead of sitting down",
        "adult": "Slightly shorter meetings",
        "parent": "It was good that Emma got to tell it herself",
    },
}
_YOUNG_GOALS: dict[Language, dict[str, str]] = {
    "da": {"goal-1": "at sove i min egen seng"},
    "en": {"goal-1": "sleeping in my own bed"},
}
_NUMERIC = ("7", "6", "8", "5", "9", "8", "7", "9", "6", "4", "8")
_FACES = ("v:7.5", "v:5", "v:10", "v:7.5", "v:10", "v:7.5", "v:5", "v:10", "v:7.5")
_FACE_NUMBER = {"v:0": "1", "v:2.5": "2", "v:5": "3", "v:7.5": "4", "v:10": "5"}


def _play(conv: Conversation, language: Language, channel: Channel, feedback: str) -> None:
    """A person who answers everything, misreads one question and goes back once."""
    words = _WORDS[language]
    visits: Counter[str] = Counter()
    vague_said = False
    for _ in range(80):
        state = conv.state
        if not state.active:
            return
        visits[state.at] += 1
        first_visit = visits[state.at] == 1
        question = state.question
        if state.at == CONSENT:
            conv.press("yes") if channel == "buttons" else conv.say(words["yes"])
        elif state.at == FEEDBACK:
            if channel == "sms" and first_visit:
                conv.say(words["back"])
            else:
                conv.say(feedback if channel == "buttons" else words["no"])
        elif question is not None:
            index = state.questions.index(question)
            faces = question.scale == "faces"
            if channel == "sms" and "\n1. " in conv.last_text:
                block = [q for q in state.questions if q.instrument == question.instrument]
                # All of the first instrument at once; only two of the second, then one by one.
                count = len(block) if index == 0 else 2
                conv.say(" ".join(_NUMERIC[:count]))
            elif channel == "sms" and first_visit and not vague_said and index > 0:
                vague_said = True
                conv.say(words["vague"])
            elif index == 1 and first_visit:
                conv.say(words["vague"])
            elif index == 1 and visits[state.at] == 2:
                if faces:
                    conv.say("🙂" if channel == "buttons" else "4")
                else:
                    conv.say("7,5" if language == "da" else "7.5")
            elif index == 3 and first_visit:
                conv.say(words["back"])
            elif channel == "sms":
                conv.say(_FACE_NUMBER[_FACES[index]] if faces else words["word"])
            else:
                conv.press(_FACES[index] if faces else f"v:{_NUMERIC[index + visits[state.at]]}")
    raise AssertionError("the conversation did not end")


def _check(name: str, text: str, update_golden: bool) -> None:
    path = GOLDEN / f"{name}.txt"
    if update_golden:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), f"{path} is missing: run pytest --update-golden"
    assert text == path.read_text(encoding="utf-8"), f"{path.name} changed (--update-golden)"


@pytest.mark.parametrize("channel", ["buttons", "sms"])
@pytest.mark.parametrize("language", ["da", "en"])
@pytest.mark.parametrize(("reader", "rater", "age_band"), READERS)
def test_full_survey_reads_as_golden_transcript(
    reader: str,
    rater: Rater,
    age_band: AgeBand,
    language: Language,
    channel: Channel,
    update_golden: bool,
) -> None:
    ctx = make_context(language, rater, age_band, channel, ask_consent=True)
    goals = _YOUNG_GOALS[language] if reader == "young-child" else dict(ctx.goals)
    ctx = dataclasses.replace(ctx, goals=goals)
    conv = Conversation(ctx)
    conv.start(goals=tuple(goals))

    _play(conv, language, channel, _FEEDBACK[language][reader])

    title = f"{reader} ({rater}, {age_band}) | {language} | {channel}"
    _check(f"{reader}-{language}-{channel}", transcript(conv, title, rater.upper()), update_golden)
    assert isinstance(conv.events[-1], SurveyCompleted)
    assert not conv.events[-1].partial


Script = Callable[[Conversation, Language], None]


def _safety(conv: Conversation, language: Language) -> None:
    danish = language == "da"
    conv.start()
    conv.press("v:8")
    conv.say("min far slår mig" if danish else "my dad hits me")
    conv.press("yes")
    for data in ("v:6", "v:7", "v:5", "v:9", "v:8", "v:7", "v:9"):
        conv.press(data)
    conv.say("jeg vil ikke leve mere" if danish else "I don't want to live anymore")


def _safety_stop(conv: Conversation, language: Language) -> None:
    conv.start()
    conv.say("jeg har tænkt på selvmord" if language == "da" else "i want to kill myself")
    conv.say("nej" if language == "da" else "no")


def _stop_and_help(conv: Conversation, language: Language) -> None:
    words = _WORDS[language]
    conv.start()
    conv.say(words["yes"])
    conv.say(words["help"].upper())
    conv.say("7 11 8 9")
    conv.say("7 6")
    conv.say("Stop")
    conv.say("hallo?")
    conv.say("START")


def _declined(conv: Conversation, language: Language) -> None:
    conv.start()
    conv.say("måske" if language == "da" else "maybe")
    conv.press("no")


def _expired(conv: Conversation, language: Language) -> None:
    conv.start(session_took_place=False)
    conv.press("v:4")
    conv.press("v:5")
    conv.send(Expire())
    conv.say("hej")


def _teacher(conv: Conversation, language: Language) -> None:
    conv.start(session_took_place=False, goals=("goal-1",))
    conv.say("8 7 6")
    conv.say("9")
    conv.say("6,5")
    conv.say("Hun har haft en god uge" if language == "da" else "She has had a good week")


def _three_misses(conv: Conversation, language: Language) -> None:
    conv.start(session_took_place=False)
    for text in ("hmm", "12", "ved ikke om jeg vil" if language == "da" else "not sure"):
        conv.say(text)
    conv.say("-")


# (name, rater, age band, channel, consent first, script)
SCENARIOS: tuple[tuple[str, Rater, AgeBand, Channel, bool, Script], ...] = (
    ("safety", "child", "6-12", "buttons", False, _safety),
    ("safety-stop", "child", "13-17", "sms", False, _safety_stop),
    ("stop-help", "child", "13-17", "sms", True, _stop_and_help),
    ("declined", "parent", "0-5", "buttons", True, _declined),
    ("expired", "child", "18+", "buttons", False, _expired),
    ("teacher", "teacher", "6-12", "sms", False, _teacher),
    ("three-misses", "child", "6-12", "sms", False, _three_misses),
)


@pytest.mark.parametrize("language", ["da", "en"])
@pytest.mark.parametrize(
    ("name", "rater", "age_band", "channel", "consent", "script"),
    SCENARIOS,
    ids=[scenario[0] for scenario in SCENARIOS],
)
def test_special_conversation_reads_as_golden_transcript(
    name: str,
    rater: Rater,
    age_band: AgeBand,
    channel: Channel,
    consent: bool,
    script: Script,
    language: Language,
    update_golden: bool,
) -> None:
    conv = Conversation(make_context(language, rater, age_band, channel, ask_consent=consent))

    script(conv, language)

    title = f"{name} ({rater}, {age_band}) | {language} | {channel}"
    _check(f"{name}-{language}", transcript(conv, title, rater.upper()), update_golden)
