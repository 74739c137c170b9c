"""The alert rules (DOMAIN.md's table) as pure functions, and a case's urgency right now."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import IntEnum

from reports.model import CHILD, Alert, CaseData, PromptOutcome, Rating, SafetyEvent
from reports.rules import DEFAULT_RULES, ScoringRules
from reports.scoring import TrackPoint, band_on, case_ratings, series, track

SAFETY = "safety"
NOT_ON_TRACK = "not_on_track"
RELIABLE_WORSENING = "reliable_worsening"
SESSION_LOW = "session_low"
SESSION_DROP = "session_drop"
RATER_DIVERGENCE = "rater_divergence"
MISSING_RATINGS = "missing_ratings"
# Stable names: storage, exports and dashboards key on them. Add, never rename.
RULES = (
    SAFETY,
    NOT_ON_TRACK,
    RELIABLE_WORSENING,
    SESSION_LOW,
    SESSION_DROP,
    RATER_DIVERGENCE,
    MISSING_RATINGS,
)


class Urgency(IntEnum):
    """Digest order: lower comes first."""

    SAFETY = 0
    NOT_ON_TRACK = 1
    ALLIANCE = 2
    DIVERGENCE = 3
    MISSING = 4
    ON_TRACK = 5


URGENCY_OF_RULE: Mapping[str, Urgency] = {
    SAFETY: Urgency.SAFETY,
    NOT_ON_TRACK: Urgency.NOT_ON_TRACK,
    RELIABLE_WORSENING: Urgency.NOT_ON_TRACK,
    SESSION_LOW: Urgency.ALLIANCE,
    SESSION_DROP: Urgency.ALLIANCE,
    RATER_DIVERGENCE: Urgency.DIVERGENCE,
    MISSING_RATINGS: Urgency.MISSING,
}


# Order of reasons inside one case: a worsening weighs more than a missing improvement.
_RANK: Mapping[str, int] = {
    SAFETY: 0,
    RELIABLE_WORSENING: 1,
    NOT_ON_TRACK: 2,
    SESSION_LOW: 3,
    SESSION_DROP: 4,
    RATER_DIVERGENCE: 5,
    MISSING_RATINGS: 6,
}


def _fmt(value: float) -> str:
    return f"{value:+g}" if value else "0"


def _track_alert(point: TrackPoint, rules: ScoringRules) -> Alert:
    r = point.rating
    rc = point.reliable_change
    if point.state == "worsening":
        return Alert(
            RELIABLE_WORSENING,
            r.answered_at,
            f"{r.rater_role}: reliable worsening from the first rating "
            f"(change {_fmt(point.change)}, limit -{rc:g})",
            "high",
            r.participant_id,
            r.rater_role,
            point.change,
            -rc,
            {"number": point.number, "total": point.total},
        )
    return Alert(
        NOT_ON_TRACK,
        r.answered_at,
        f"{r.rater_role}: no reliable improvement by rating {point.number} "
        f"(change {_fmt(point.change)}, needs +{rc:g})",
        "high",
        r.participant_id,
        r.rater_role,
        point.change,
        rc,
        {"number": point.number, "total": point.total},
    )


def _tracks(
    ratings: Iterable[Rating], birth: date, rules: ScoringRules
) -> dict[str, list[TrackPoint]]:
    return {pid: track(rs, birth, rules) for pid, rs in series(ratings, "outcome").items()}


def outcome_alerts(
    ratings: Iterable[Rating], birth: date, rules: ScoringRules = DEFAULT_RULES
) -> list[Alert]:
    """`not_on_track` and `reliable_worsening` per rater, raised when the state is entered.

    Sources: reliable change ≥ 5 points (6 for children) from the first rating, Miller et al.
    2003 / Duncan et al. 2006; not on track by the 3rd rating, PCOMS practice. A rater who goes
    from worsening to merely not improving gets no second alert: the flag already stands.
    """
    alerts = []
    for points in _tracks(ratings, birth, rules).values():
        previous = "early"
        for point in points:
            entered_worsening = point.state == "worsening" and previous != "worsening"
            entered_not_on_track = point.state == "not_on_track" and previous not in (
                "not_on_track",
                "worsening",
            )
            if entered_worsening or entered_not_on_track:
                alerts.append(_track_alert(point, rules))
            previous = point.state
    return sorted(alerts, key=lambda a: a.raised_at)


def session_alerts(ratings: Iterable[Rating], rules: ScoringRules = DEFAULT_RULES) -> list[Alert]:
    """`session_low` (total below 36) and `session_drop` (≥ 1 below the rater's previous).

    Source: PCOMS practice (OpenFIT). Exactly 36 is no alert; a drop of exactly 1 is.
    """
    alerts = []
    for ratings_of_rater in series(ratings, "session").values():
        previous: float | None = None
        for r in ratings_of_rater:
            assert r.total is not None  # series() keeps scored ratings only
            if r.total < rules.session_alert_below:
                alerts.append(
                    Alert(
                        SESSION_LOW,
                        r.answered_at,
                        f"{r.rater_role}: session rating {r.total:g} "
                        f"below {rules.session_alert_below:g}",
                        "normal",
                        r.participant_id,
                        r.rater_role,
                        r.total,
                        rules.session_alert_below,
                    )
                )
            if previous is not None and previous - r.total >= rules.session_drop:
                alerts.append(
                    Alert(
                        SESSION_DROP,
                        r.answered_at,
                        f"{r.rater_role}: session rating dropped from {previous:g} to {r.total:g}",
                        "normal",
                        r.participant_id,
                        r.rater_role,
                        r.total,
                        previous,
                    )
                )
            previous = r.total
    return sorted(alerts, key=lambda a: a.raised_at)


def _divergence(
    ratings: Iterable[Rating], birth: date, rules: ScoringRules
) -> tuple[list[Alert], dict[str, Alert]]:
    """Edge-triggered divergence alerts and, per adult, the divergence standing at the end."""
    by_rater = series(ratings, "outcome")
    child = sorted(
        (r for rs in by_rater.values() for r in rs if r.rater_role == CHILD),
        key=lambda r: r.answered_at,
    )
    alerts: list[Alert] = []
    current: dict[str, Alert] = {}
    if not child:
        return alerts, current
    for pid, adult in by_rater.items():
        if adult[0].rater_role == CHILD:
            continue
        # Walk both series in time order; at each new rating compare the latest of each.
        events = sorted(
            [(r.answered_at, 0, r) for r in child] + [(r.answered_at, 1, r) for r in adult],
            key=lambda e: (e[0], e[1]),
        )
        last_child: Rating | None = None
        last_adult: Rating | None = None
        divergent = False
        found: Alert | None = None
        for _, side, r in events:
            if side == 0:
                last_child = r
            else:
                last_adult = r
            if last_child is None or last_adult is None:
                continue
            if abs(last_child.answered_at - last_adult.answered_at) > rules.divergence_window:
                continue  # not the same period: keep the previous judgement
            assert last_child.total is not None and last_adult.total is not None
            limit = (
                rules.divergence_factor
                * band_on(birth, last_child.answered_at, rules).reliable_change
            )
            diff = round(abs(last_child.total - last_adult.total), 6)
            now_divergent = diff >= limit
            found = None
            if now_divergent:
                found = Alert(
                    RATER_DIVERGENCE,
                    max(last_child.answered_at, last_adult.answered_at),
                    f"child {last_child.total:g} vs {last_adult.rater_role} "
                    f"{last_adult.total:g}: differ by {diff:g} (limit {limit:g})",
                    "normal",
                    pid,
                    last_adult.rater_role,
                    diff,
                    limit,
                    {"child_total": last_child.total, "adult_total": last_adult.total},
                )
                if not divergent:
                    alerts.append(found)
            divergent = now_divergent
        if divergent and found is not None:
            current[pid] = found
    return sorted(alerts, key=lambda a: a.raised_at), current


def divergence_alerts(
    ratings: Iterable[Rating], birth: date, rules: ScoringRules = DEFAULT_RULES
) -> list[Alert]:
    """`rater_divergence`: the child's and an adult's outcome totals differ by ≥ 2 × RC.

    Source: Stemme's own rule. "The same period" = the two latest ratings at most
    `divergence_window_days` apart; RC is the child's band on the child's rating day. Raised
    when a pair starts to diverge, once per spell.
    """
    return _divergence(ratings, birth, rules)[0]


def _missing(
    prompts: Iterable[PromptOutcome], roles: Mapping[str, str], rules: ScoringRules
) -> tuple[list[Alert], dict[str, Alert]]:
    by_participant: dict[str, list[PromptOutcome]] = {}
    for p in sorted(prompts, key=lambda p: p.due_at):
        by_participant.setdefault(p.participant_id, []).append(p)
    alerts: list[Alert] = []
    current: dict[str, Alert] = {}
    n = rules.missing_in_a_row
    for pid, outcomes in by_participant.items():
        run = 0
        role = roles.get(pid)
        for p in outcomes:
            run = 0 if p.answered else run + 1
            if run == n:
                alerts.append(
                    Alert(
                        MISSING_RATINGS,
                        p.due_at,
                        f"{role or 'participant'}: {n} prompts in a row unanswered",
                        "normal",
                        pid,
                        role,
                        float(run),
                        float(n),
                    )
                )
        if run >= n:
            last = outcomes[-1]
            current[pid] = Alert(
                MISSING_RATINGS,
                last.due_at,
                f"{role or 'participant'}: {run} prompts in a row unanswered",
                "normal",
                pid,
                role,
                float(run),
                float(n),
            )
    return sorted(alerts, key=lambda a: a.raised_at), current


def missing_rating_alerts(
    prompts: Iterable[PromptOutcome],
    rules: ScoringRules = DEFAULT_RULES,
    roles: Mapping[str, str] | None = None,
) -> list[Alert]:
    """`missing_ratings`: raised at the 2nd unanswered prompt in a row (Greenspace practice)."""
    return _missing(prompts, roles or {}, rules)[0]


def safety_alerts(
    events: Iterable[SafetyEvent],
    rules: ScoringRules = DEFAULT_RULES,
    roles: Mapping[str, str] | None = None,
) -> list[Alert]:
    """`safety` (urgent): one per flagged message; the municipality must assess within 24 h."""
    roles = roles or {}
    return [
        Alert(
            SAFETY,
            e.raised_at,
            "a message was flagged as a possible risk; "
            f"assess within {rules.safety_response_hours} hours",
            "urgent",
            e.participant_id,
            roles.get(e.participant_id) if e.participant_id else None,
            None,
            float(rules.safety_response_hours),
        )
        for e in sorted(events, key=lambda e: e.raised_at)
    ]


def _roles(case: CaseData) -> dict[str, str]:
    return {r.participant_id: r.role for r in case.raters}


def evaluate(
    case: CaseData,
    rules: ScoringRules = DEFAULT_RULES,
    ratings: Sequence[Rating] | None = None,
) -> list[Alert]:
    """Every alert the rules raise over a case's history, oldest first."""
    ratings = case_ratings(case, rules) if ratings is None else ratings
    roles = _roles(case)
    alerts = (
        safety_alerts(case.safety_events, rules, roles)
        + outcome_alerts(ratings, case.child_birth_date, rules)
        + session_alerts(ratings, rules)
        + divergence_alerts(ratings, case.child_birth_date, rules)
        + missing_rating_alerts(case.prompts, rules, roles)
    )
    return sorted(alerts, key=lambda a: (a.raised_at, RULES.index(a.rule)))


@dataclass(frozen=True, slots=True)
class CaseStatus:
    """Where a case stands at `now`: its urgency and the alerts behind it, most urgent first."""

    urgency: Urgency
    reasons: tuple[Alert, ...]
    child_latest: TrackPoint | None  # the child's latest outcome rating, for the "on track" line

    @property
    def rule(self) -> str | None:
        """The rule of the most urgent reason, or None when on track."""
        return self.reasons[0].rule if self.reasons else None


def case_status(
    case: CaseData,
    *,
    now: datetime,
    rules: ScoringRules = DEFAULT_RULES,
    since: datetime | None = None,
    ratings: Sequence[Rating] | None = None,
) -> CaseStatus:
    """A case's urgency at `now`: events (safety, session) since `since` (default 7 days),
    conditions (not on track, divergence, missing ratings) as they stand at `now`.

    A safety event keeps the case urgent from when it is raised until it is acknowledged,
    however old it is; an acknowledged one no longer counts.
    """
    since = now - timedelta(days=7) if since is None else since
    ratings = case_ratings(case, rules) if ratings is None else ratings
    ratings = [r for r in ratings if r.answered_at <= now]
    roles = _roles(case)
    birth = case.child_birth_date
    reasons: list[Alert] = []
    events = [e for e in case.safety_events
              if e.raised_at <= now and (e.acknowledged_at is None or e.acknowledged_at > now)]
    reasons += safety_alerts(events, rules, roles)
    child_latest: TrackPoint | None = None
    for points in _tracks(ratings, birth, rules).values():
        last = points[-1]
        if last.rating.rater_role == CHILD:
            child_latest = last
        if last.state in ("not_on_track", "worsening"):
            reasons.append(_track_alert(last, rules))
    reasons += [a for a in session_alerts(ratings, rules) if since <= a.raised_at <= now]
    reasons += _divergence(ratings, birth, rules)[1].values()
    prompts = [p for p in case.prompts if p.due_at <= now]
    reasons += _missing(prompts, roles, rules)[1].values()
    # Most urgent rule first; within a rule the child before adults, then the newest.
    reasons.sort(key=lambda a: (_RANK[a.rule], a.rater_role != CHILD, -a.raised_at.timestamp()))
    urgency = URGENCY_OF_RULE[reasons[0].rule] if reasons else Urgency.ON_TRACK
    return CaseStatus(urgency, tuple(reasons), child_latest)
