"""Which questions a survey asks, in which order: outcome, then session, then goals."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping

from bot.flows.context import MAX_GOALS, AgeBand, FlowContext, Rater
from bot.flows.events import StartSurvey
from bot.flows.instruments import Instrument
from bot.flows.state import Question

GOAL_INSTRUMENT = "goal"
GOAL_ID = re.compile(r"[A-Za-z0-9_-]{1,40}")
_KIND_ORDER = {"outcome": 0, "session": 1}
_BAND_SUFFIX: dict[AgeBand, str] = {
    "0-5": "young-child",
    "6-12": "child",
    "13-17": "youth",
    "18+": "adult",
}


def default_instruments(rater: Rater, age_band: AgeBand) -> tuple[str, ...]:
    """The instruments a rater answers when the host names none."""
    if rater == "child":
        suffix = _BAND_SUFFIX[age_band]
        return (f"outcome-{suffix}", f"session-{suffix}")
    if rater in ("parent", "foster_parent"):
        # A parent usually takes part in the sessions; a teacher or pedagogue does not.
        return ("outcome-observer", "session-adult")
    return ("outcome-observer",)


def _item_questions(instruments: list[Instrument]) -> list[Question]:
    kinds = Counter(instrument.kind for instrument in instruments)
    questions: list[Question] = []
    for instrument in instruments:
        # "outcome:me" unless two instruments of one kind run together (then the instrument
        # id keeps the state ids apart).
        prefix = instrument.kind if kinds[instrument.kind] == 1 else instrument.id
        questions.extend(
            Question(
                id=f"{prefix}:{item.id}",
                instrument=instrument.id,
                version=instrument.version,
                item=item.id,
                template=item.id,
                scale=instrument.scale.type,
            )
            for item in instrument.items
        )
    return questions


def build_questions(
    start: StartSurvey, ctx: FlowContext
) -> tuple[tuple[Question, ...], tuple[str, ...]]:
    """The survey's questions, and the requested instrument or goal ids that were left out."""
    wanted = start.instruments or default_instruments(ctx.rater, ctx.age_band)
    known: Mapping[str, Instrument] = ctx.instruments
    unknown = tuple(
        i for i in wanted if i not in known or known[i].kind not in _KIND_ORDER
    )
    chosen = [
        known[i]
        for i in dict.fromkeys(wanted)
        if i not in unknown and (known[i].kind == "outcome" or start.session_took_place)
    ]
    chosen.sort(key=lambda instrument: _KIND_ORDER[instrument.kind])
    questions = _item_questions(chosen)
    goal_ids = [g for g in dict.fromkeys(start.goals) if GOAL_ID.fullmatch(g)]
    bad_goals = tuple(g for g in start.goals if not GOAL_ID.fullmatch(g))
    goal = known.get(GOAL_INSTRUMENT)
    if goal is not None:
        faces = ctx.audience == "young"  # under six, goals are answered with faces too
        questions.extend(
            Question(
                id=f"goal:{goal_id}",
                instrument=goal.id,
                version=goal.version,
                item=goal_id,
                template=goal.items[0].id,
                scale="faces" if faces else "numeric",
                number=number,
            )
            for number, goal_id in enumerate(goal_ids[:MAX_GOALS], start=1)
        )
    kept = goal_ids[:MAX_GOALS] if goal is not None else []
    dropped = unknown + bad_goals + tuple(g for g in goal_ids if g not in kept)
    return tuple(questions), dropped
