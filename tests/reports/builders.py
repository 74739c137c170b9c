"""Small builders of plain report inputs, so each test states only the numbers it is about."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta

from reports.model import CaseData, Comment, Goal, ItemAnswer, PromptOutcome, Rater, SafetyEvent

START = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)
OUTCOME_ITEMS = ("me", "family", "school", "overall")
SESSION_ITEMS = ("heard", "topics", "approach", "overall")
CHILD_ID, PARENT_ID, TEACHER_ID = "p-child", "p-parent", "p-teacher"
ROLES = {CHILD_ID: "child", PARENT_ID: "parent", TEACHER_ID: "teacher"}
# Twelve years old for the whole autumn of 2026 (13 on 2027-05-03).
BIRTH_12 = date(2014, 5, 3)
BIRTH_13 = date(2013, 5, 3)


def week(n: int, hours: float = 0) -> datetime:
    """The n-th weekly session after START."""
    return START + timedelta(weeks=n, hours=hours)


def survey(
    pid: str,
    at: datetime,
    total: float | None = None,
    *,
    kind: str = "outcome",
    scores: Sequence[float | None] | None = None,
    role: str | None = None,
    partial: bool = False,
    survey_id: str | None = "auto",
) -> list[ItemAnswer]:
    """Four item answers of one survey; `total` is spread evenly over the items."""
    role = role or ROLES.get(pid, "parent")
    items = OUTCOME_ITEMS if kind == "outcome" else SESSION_ITEMS
    if scores is None:
        assert total is not None
        scores = [total / 4] * 4
    instrument = f"{kind}-{'child' if role == 'child' else 'adult'}"
    sid = f"{pid}-{kind}-{at.isoformat()}" if survey_id == "auto" else survey_id
    return [
        ItemAnswer(
            at + timedelta(seconds=10 * i),
            pid,
            role,
            instrument,
            "1",
            item,
            score,
            partial=partial,
            survey_id=sid,
        )
        for i, (item, score) in enumerate(zip(items, scores, strict=True))
    ]


def outcomes(pid: str, totals: Iterable[float | None], start: int = 0) -> list[ItemAnswer]:
    """Weekly outcome surveys of one rater (None = no survey that week)."""
    out: list[ItemAnswer] = []
    for n, total in enumerate(totals, start=start):
        if total is not None:
            out += survey(pid, week(n), total)
    return out


def sessions(pid: str, totals: Iterable[float]) -> list[ItemAnswer]:
    """Weekly session ratings of one rater."""
    out: list[ItemAnswer] = []
    for n, total in enumerate(totals):
        out += survey(pid, week(n, hours=1), total, kind="session")
    return out


def goals(pid: str, scores: Iterable[float], goal_id: str = "goal-1") -> list[ItemAnswer]:
    """Weekly ratings of one goal (0-10)."""
    return [
        ItemAnswer(week(n, hours=2), pid, "child", "goals", "1", goal_id, s, survey_id=f"g{n}")
        for n, s in enumerate(scores)
    ]


def make_case(
    answers: Iterable[ItemAnswer] = (),
    *,
    birth: date = BIRTH_12,
    raters: Sequence[tuple[str, str]] | None = None,
    comments: Sequence[Comment] = (),
    safety: Sequence[SafetyEvent] = (),
    prompts: Sequence[PromptOutcome] = (),
    goal_ids: Sequence[str] = (),
    case_id: str = "case-1",
    ref: str = "SAG-1",
    weeks: int = 12,
) -> CaseData:
    """A case over `weeks` weeks from START with the given answers and raters."""
    answers = list(answers)
    if raters is None:
        seen = dict.fromkeys(a.participant_id for a in answers)
        raters = [(pid, ROLES.get(pid, "parent")) for pid in seen] or [(CHILD_ID, "child")]
    return CaseData(
        case_id=case_id,
        ref=ref,
        child_birth_date=birth,
        period=(START.date(), (START + timedelta(weeks=weeks)).date()),
        raters=tuple(Rater(pid, role) for pid, role in raters),
        answers=tuple(answers),
        goals=tuple(Goal(g, i + 1, f"goal text {i + 1}") for i, g in enumerate(goal_ids)),
        comments=tuple(comments),
        safety_events=tuple(safety),
        prompts=tuple(prompts),
    )
