"""Synthetic, seeded cases for benchmarks, tests and demos (no real person behind them)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from reports.model import CHILD, CaseData, Comment, Goal, ItemAnswer, PromptOutcome, Rater

OUTCOME_ITEMS = ("me", "family", "school", "overall")
SESSION_ITEMS = ("heard", "topics", "approach", "overall")


def _items(
    rng: random.Random, level: float, names: Sequence[str], missing: bool
) -> list[tuple[str, float | None]]:
    out: list[tuple[str, float | None]] = []
    for i, name in enumerate(names):
        score = round(min(10.0, max(0.0, level / 4 + rng.uniform(-1.2, 1.2))), 1)
        out.append((name, None if missing and i == 1 else score))
    return out


def sample_case(
    *,
    sessions: int = 12,
    roles: Sequence[str] = (CHILD, "parent", "teacher"),
    seed: int = 1,
    start: datetime = datetime(2026, 9, 1, 13, 0, tzinfo=UTC),
    birth: date = date(2014, 5, 3),
    goals: int = 2,
    trend: float = 0.8,
    missing_items_every: int = 0,
    case_id: str = "case-1",
    ref: str = "SAG-0001",
) -> CaseData:
    """A case with weekly sessions: outcome and session ratings, goals, prompts and a comment.

    `trend` is the child's outcome change per session; adults follow with their own noise;
    teachers rate every third week. `missing_items_every` > 0 skips an item that often.
    """
    rng = random.Random(seed)
    raters = tuple(Rater(f"{case_id}-p{i}", role) for i, role in enumerate(roles))
    goal_list = tuple(Goal(f"goal-{i + 1}", i + 1, f"mål {i + 1}") for i in range(goals))
    answers: list[ItemAnswer] = []
    prompts: list[PromptOutcome] = []
    comments: list[Comment] = []
    level = rng.uniform(14, 24)
    for n in range(sessions):
        at = start + timedelta(weeks=n)
        level = min(38.0, max(4.0, level + trend + rng.uniform(-2, 2)))
        for k, rater in enumerate(raters):
            if rater.role in ("teacher", "pedagogue") and n % 3:
                continue
            when = at + timedelta(minutes=5 * k)
            missed = rng.random() < 0.08
            prompts.append(PromptOutcome(when, rater.participant_id, not missed))
            if missed:
                continue
            missing = bool(missing_items_every) and n % missing_items_every == 1
            own = level + (0 if rater.role == CHILD else rng.uniform(-5, 5))
            kinds = [("outcome-child" if rater.role == CHILD else "outcome-adult", OUTCOME_ITEMS)]
            if rater.role in (CHILD, "parent"):
                kinds.append(
                    ("session-child" if rater.role == CHILD else "session-adult", SESSION_ITEMS)
                )
            for instrument, names in kinds:
                base = own if instrument.startswith("outcome") else rng.uniform(35, 40)
                for j, (item, score) in enumerate(_items(rng, base, names, missing)):
                    answers.append(
                        ItemAnswer(
                            when + timedelta(seconds=20 * j),
                            rater.participant_id,
                            rater.role,
                            instrument,
                            "1",
                            item,
                            score,
                            partial=missing,
                            survey_id=f"{rater.participant_id}-{n}",
                        )
                    )
            if rater.role == CHILD and goal_list:
                for g in goal_list:
                    score = round(min(10.0, max(0.0, level / 4 + rng.uniform(-2, 2))), 1)
                    answers.append(
                        ItemAnswer(
                            when + timedelta(minutes=2),
                            rater.participant_id,
                            CHILD,
                            "goals",
                            "1",
                            g.goal_id,
                            score,
                            survey_id=f"{rater.participant_id}-{n}-g",
                        )
                    )
                if n % 4 == 2:
                    comments.append(
                        Comment(
                            when + timedelta(minutes=3),
                            rater.participant_id,
                            CHILD,
                            f"kommentar {n}",
                        )
                    )
    end = start + timedelta(weeks=max(sessions - 1, 0))
    return CaseData(
        case_id=case_id,
        ref=ref,
        child_birth_date=birth,
        period=(start.date(), max(end.date(), start.date())),
        raters=raters,
        answers=tuple(answers),
        goals=goal_list,
        comments=tuple(comments),
        prompts=tuple(prompts),
    )
