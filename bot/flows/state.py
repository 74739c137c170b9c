"""A survey's state: a small JSON-serialisable value whose position is a stable string id."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Literal, cast

from bot.flows.instruments import ScaleType

SCHEMA = 1
MAX_MISSES = 3  # after this many answers that are not answers, an item is skipped

# Where a survey can be, besides at a question (whose id is "<kind>:<item>", e.g. "outcome:me",
# "session:heard", "goal:goal-1").
IDLE = "idle"
CONSENT = "consent"
FEEDBACK = "feedback"
SAFETY = "safety:continue"
END = "end:"  # followed by the reason, e.g. "end:finished"

EndReason = Literal[
    "finished", "expired", "stopped", "declined", "consent_unclear", "safety", "replaced"
]
END_REASONS: tuple[EndReason, ...] = (
    "finished",
    "expired",
    "stopped",
    "declined",
    "consent_unclear",
    "safety",
    "replaced",
)


class StateError(ValueError):
    """A stored state is not one this engine wrote (a host or storage bug, not user input)."""


@dataclass(frozen=True, slots=True)
class Question:
    """One question of a running survey, fixed when it starts."""

    id: str  # the state id while it is asked
    instrument: str
    version: str
    item: str  # the item id stored with the answer (for a goal: the goal's id)
    template: str  # the instrument item whose wording is used ("goal" for every goal)
    scale: ScaleType
    number: int = 0  # a goal's number, 1-3

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return {
            "id": self.id,
            "instrument": self.instrument,
            "version": self.version,
            "item": self.item,
            "template": self.template,
            "scale": self.scale,
            "number": self.number,
        }


@dataclass(frozen=True, slots=True)
class Answer:
    """What was recorded for a question: a score 0-10, or skipped."""

    score: float | None
    skipped: bool = False


@dataclass(frozen=True, slots=True)
class SurveyState:
    """Where one person's survey is. Values never hold the person's free text or names."""

    at: str = IDLE
    questions: tuple[Question, ...] = ()
    answers: Mapping[str, Answer] = field(default_factory=dict)
    misses: int = 0  # answers at the current state that were not understood
    resume_at: str = ""  # where the survey goes on after a safety pause
    session: bool = False  # a session took place (decides the last question's wording)

    @property
    def active(self) -> bool:
        """True while a survey is waiting for an answer."""
        return self.at != IDLE and not self.at.startswith(END)

    @property
    def index(self) -> int | None:
        """The position of the current question, or None when not at a question."""
        for position, question in enumerate(self.questions):
            if question.id == self.at:
                return position
        return None

    @property
    def question(self) -> Question | None:
        """The question being asked, if any."""
        index = self.index
        return None if index is None else self.questions[index]

    def moved(self, at: str, **changes: Any) -> SurveyState:
        """A copy at another state id, with its miss count reset."""
        return replace(self, at=at, misses=0, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form (what the host stores)."""
        return {
            "schema": SCHEMA,
            "at": self.at,
            "questions": [question.to_dict() for question in self.questions],
            "answers": {
                key: {"score": answer.score, "skipped": answer.skipped}
                for key, answer in self.answers.items()
            },
            "misses": self.misses,
            "resume_at": self.resume_at,
            "session": self.session,
        }

    def to_json(self) -> str:
        """The state as JSON: `json.dumps(to_dict(), ensure_ascii=False, sort_keys=True)`.

        Written out by hand around the questions, which a survey fixes when it starts: their
        text is made once per question list, not at every answer.
        """
        answers = json.dumps({key: {"score": answer.score, "skipped": answer.skipped}
                              for key, answer in self.answers.items()},
                             ensure_ascii=False, sort_keys=True)
        return (f'{{"answers": {answers}, "at": {_string(self.at)}, "misses": {self.misses}, '
                f'"questions": {_questions_json(self.questions)}, '
                f'"resume_at": {_string(self.resume_at)}, "schema": {SCHEMA}, '
                f'"session": {"true" if self.session else "false"}}}')

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SurveyState:
        """Rebuild a state from `to_dict`; StateError when it is not a valid state."""
        try:
            if data.get("schema") != SCHEMA:
                raise StateError(f"unknown state schema {data.get('schema')!r}")
            questions = _questions(data.get("questions", []))
            answers = {
                str(key): Answer(
                    None if value["score"] is None else float(value["score"]),
                    bool(value["skipped"]),
                )
                for key, value in data.get("answers", {}).items()
            }
            state = cls(
                at=str(data["at"]),
                questions=questions,
                answers=answers,
                misses=int(data.get("misses", 0)),
                resume_at=str(data.get("resume_at", "")),
                session=bool(data.get("session", False)),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            if isinstance(error, StateError):
                raise
            raise StateError(f"malformed state: {error!r}") from error
        problems = state_problems(state)
        if problems:
            raise StateError("; ".join(problems))
        return state

    @classmethod
    def from_json(cls, text: str) -> SurveyState:
        """Rebuild a state from `to_json`."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise StateError(f"state is not JSON: {error}") from error
        if not isinstance(data, dict):
            raise StateError("state is not a JSON object")
        return cls.from_dict(data)


_string: Callable[[str], str] = json.encoder.encode_basestring  # what dumps does
_PARSED: dict[tuple[tuple[str, Any], ...], Question] = {}


@lru_cache(maxsize=256)
def _questions_json(questions: tuple[Question, ...]) -> str:
    return json.dumps([question.to_dict() for question in questions], ensure_ascii=False,
                      sort_keys=True)


def _question(raw: Mapping[str, Any]) -> Question:
    return Question(
        id=str(raw["id"]),
        instrument=str(raw["instrument"]),
        version=str(raw["version"]),
        item=str(raw["item"]),
        template=str(raw["template"]),
        scale=cast(ScaleType, raw["scale"]),
        number=int(raw.get("number", 0)),
    )


def _questions(raw: list[Mapping[str, Any]]) -> tuple[Question, ...]:
    """The questions of a stored state; the same few lists recur, so each is parsed once."""
    out = []
    for item in raw:
        key = tuple(item.items())
        question = _PARSED.get(key)
        if question is None:
            if len(_PARSED) > 4096:  # goals make lists vary: keep the memo bounded
                _PARSED.clear()
            question = _PARSED[key] = _question(item)
        out.append(question)
    return tuple(out)


def _valid_score(answer: Answer) -> bool:
    if answer.score is None:
        return answer.skipped
    return (
        not answer.skipped
        and math.isfinite(answer.score)
        and 0.0 <= answer.score <= 10.0
        and round(answer.score, 1) == answer.score
    )


def state_problems(state: SurveyState) -> list[str]:
    """Everything wrong with a state (empty when it is valid)."""
    problems: list[str] = []
    ids = [question.id for question in state.questions]
    if len(set(ids)) != len(ids):
        problems.append("question ids repeat")
    if any(q.scale not in ("numeric", "faces") for q in state.questions):
        problems.append("unknown scale")
    fixed = {IDLE, CONSENT, FEEDBACK, SAFETY} | {END + reason for reason in END_REASONS}
    if state.at not in fixed and state.at not in ids:
        problems.append(f"unknown state id {state.at!r}")
    if state.active and not state.questions:
        problems.append("an active survey without questions")
    if state.at == SAFETY and state.resume_at not in {*ids, FEEDBACK}:
        problems.append("a safety pause with nowhere to resume")
    if not set(state.answers) <= set(ids):
        problems.append("answers to questions that were not asked")
    if any(not _valid_score(answer) for answer in state.answers.values()):
        problems.append("a score outside 0-10 or not in tenths")
    if not 0 <= state.misses < MAX_MISSES:
        problems.append("miss count out of range")
    return problems
