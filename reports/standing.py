"""The rule alerts that hold right now, each named by the alert that started its spell.

`evaluate` raises an alert when a rule starts to hold; this says which of those still hold
at `now` (what is stored as a row per rule and person per spell). A spell holds while:

- `not_on_track` / `reliable_worsening`: the rater's latest outcome rating is not on track
  or worsening (a rater who goes from worsening to not improving keeps the worsening spell);
- `session_low` / `session_drop`: the rater's latest session ratings keep raising it (a run
  of low ratings is one spell, started by the first of them);
- `rater_divergence` / `missing_ratings`: the divergence or the run of misses stands at `now`.

Safety alerts are not here: they are stored when raised and end only when acknowledged.
"""

from __future__ import annotations

from datetime import datetime

from reports.alerts import (
    MISSING_RATINGS,
    NOT_ON_TRACK,
    RATER_DIVERGENCE,
    RELIABLE_WORSENING,
    SAFETY,
    _divergence,
    _missing,
    _tracks,
    evaluate,
    session_alerts,
)
from reports.model import Alert, CaseData
from reports.rules import DEFAULT_RULES, ScoringRules
from reports.scoring import case_ratings, series

_TRACK = (NOT_ON_TRACK, RELIABLE_WORSENING)


def _latest(edges: list[Alert], rules: tuple[str, ...], participant_id: str) -> Alert | None:
    found = [a for a in edges if a.rule in rules and a.participant_id == participant_id]
    return found[-1] if found else None


def standing_alerts(case: CaseData, *, now: datetime,
                    rules: ScoringRules = DEFAULT_RULES) -> list[Alert]:
    """The non-safety alerts whose spell is open at `now`, oldest first."""
    ratings = [r for r in case_ratings(case, rules) if r.answered_at <= now]
    edges = [a for a in evaluate(case, rules, ratings)
             if a.rule != SAFETY and a.raised_at <= now]
    birth = case.child_birth_date
    out: list[Alert] = []
    for pid, points in _tracks(ratings, birth, rules).items():
        if points and points[-1].state in ("not_on_track", "worsening"):
            edge = _latest(edges, _TRACK, pid)
            if edge is not None:
                out.append(edge)
    for rs in series(ratings, "session").values():
        raised = session_alerts(rs, rules)
        for rule in {a.rule for a in raised}:
            by_rating = {a.raised_at: a for a in raised if a.rule == rule}
            start: Alert | None = None
            for r in reversed(rs):  # the trailing run of ratings that raise it
                if r.answered_at not in by_rating:
                    break
                start = by_rating[r.answered_at]
            if start is not None:
                out.append(start)
    for pid in _divergence(ratings, birth, rules)[1]:
        edge = _latest(edges, (RATER_DIVERGENCE,), pid)
        if edge is not None:
            out.append(edge)
    roles = {r.participant_id: r.role for r in case.raters}
    prompts = [p for p in case.prompts if p.due_at <= now]
    for pid in _missing(prompts, roles, rules)[1]:
        edge = _latest(edges, (MISSING_RATINGS,), pid)
        if edge is not None:
            out.append(edge)
    return sorted(out, key=lambda a: (a.raised_at, a.rule))
