"""Pure scoring: ages and bands, totals, ratings from answers, reliable change per rater."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Literal

from reports.model import CHILD, CaseData, ItemAnswer, Kind, Rating
from reports.rules import DEFAULT_RULES, AgeBand, ScoringRules

# Totals are rounded so that 35.999999 (float sums of half points) never slips under 36.
_DIGITS = 6

TrackState = Literal["early", "on_track", "not_on_track", "worsening"]


@lru_cache(maxsize=512)
def kind_of(instrument: str) -> Kind | None:
    """The kind of an instrument from its id's prefix: outcome-*, session-*, goal*/goals."""
    head = instrument.split("-", 1)[0].lower()
    if head == "outcome":
        return "outcome"
    if head == "session":
        return "session"
    if head in ("goal", "goals"):
        return "goal"
    return None


def local_day(at: datetime, rules: ScoringRules = DEFAULT_RULES) -> date:
    """The calendar day of a moment where the case is (a rating at 23:30 UTC may be tomorrow)."""
    return at.astimezone(rules.tz).date()


def age_on(birth: date, day: date) -> int:
    """Full years on `day`; the birthday itself counts (12 the day before, 13 on the day)."""
    years = day.year - birth.year
    # Born 29 February: in other years the birthday is taken to be 1 March.
    if (day.month, day.day) < (birth.month, birth.day):
        years -= 1
    return years


def band_for_age(age: int, rules: ScoringRules = DEFAULT_RULES) -> AgeBand:
    """The age band an age falls in (the highest band whose min_age it has reached)."""
    chosen = rules.age_bands[0]
    for band in rules.age_bands:
        if age >= band.min_age:
            chosen = band
    return chosen


def band_on(birth: date, at: datetime, rules: ScoringRules = DEFAULT_RULES) -> AgeBand:
    """The child's age band on the local day of a rating."""
    return band_for_age(age_on(birth, local_day(at, rules)), rules)


def scale_total(
    scores: Iterable[float | None], rules: ScoringRules = DEFAULT_RULES
) -> float | None:
    """Sum of a 4-item scale; prorated when at most `max_missing_items` are missing, else None."""
    given = [s for s in scores if s is not None]
    missing = rules.items_per_scale - len(given)
    if missing > rules.max_missing_items or not given:
        return None
    total = sum(given) * rules.items_per_scale / len(given) if missing > 0 else sum(given)
    return round(float(total), _DIGITS)


def _rating(group: Sequence[ItemAnswer], kind: Kind, rules: ScoringRules) -> Rating:
    first = group[0]
    items = {a.item: a.score for a in group}
    if kind == "goal":
        total, short = None, False
    else:
        total = scale_total(items.values(), rules)
        short = len(items) < rules.items_per_scale or None in items.values()
    return Rating(
        answered_at=first.answered_at,
        participant_id=first.participant_id,
        rater_role=first.rater_role,
        kind=kind,
        instrument=first.instrument,
        instrument_version=first.instrument_version,
        items=items,
        total=total,
        partial=short or any(a.partial for a in group),
    )


def build_ratings(
    answers: Iterable[ItemAnswer], rules: ScoringRules = DEFAULT_RULES
) -> list[Rating]:
    """Group item answers into ratings (by survey id, else by time), oldest first.

    Answers of an unknown instrument kind are left out: they cannot be scored.
    """
    by_survey: dict[tuple[str, str], list[ItemAnswer]] = {}
    loose: list[ItemAnswer] = []
    for answer in answers:
        if kind_of(answer.instrument) is None:
            continue
        if answer.survey_id is None:
            loose.append(answer)
        else:
            by_survey.setdefault((answer.survey_id, answer.instrument), []).append(answer)
    groups = list(by_survey.values())
    for group in groups:
        group.sort(key=lambda a: a.answered_at)
    groups += _group_by_time(loose, rules)
    ratings = []
    for group in groups:
        kind = kind_of(group[0].instrument)
        assert kind is not None  # filtered above
        ratings.append(_rating(group, kind, rules))
    ratings.sort(key=lambda r: (r.answered_at, r.participant_id, r.instrument))
    return ratings


def _group_by_time(answers: list[ItemAnswer], rules: ScoringRules) -> list[list[ItemAnswer]]:
    """Without a survey id, a repeated item or a long pause starts the next survey."""
    answers.sort(key=lambda a: (a.answered_at, a.participant_id, a.item))
    open_groups: dict[tuple[str, str, str], list[ItemAnswer]] = {}
    done: list[list[ItemAnswer]] = []
    for answer in answers:
        key = (answer.participant_id, answer.instrument, answer.instrument_version)
        group = open_groups.get(key)
        if group is not None and (
            answer.answered_at - group[0].answered_at > rules.survey_window
            or any(a.item == answer.item for a in group)
        ):
            done.append(open_groups.pop(key))
            group = None
        if group is None:
            open_groups[key] = [answer]
        else:
            group.append(answer)
    return done + list(open_groups.values())


def case_ratings(case: CaseData, rules: ScoringRules = DEFAULT_RULES) -> list[Rating]:
    """All ratings of a case, oldest first."""
    return build_ratings(case.answers, rules)


def series(ratings: Iterable[Rating], kind: Kind) -> dict[str, list[Rating]]:
    """Scored ratings of one kind per participant, oldest first (unscored ones left out)."""
    out: dict[str, list[Rating]] = {}
    for rating in sorted(ratings, key=lambda r: r.answered_at):
        if rating.kind == kind and (kind == "goal" or rating.total is not None):
            out.setdefault(rating.participant_id, []).append(rating)
    return out


@dataclass(frozen=True, slots=True)
class TrackPoint:
    """One outcome rating judged against the rater's first rating."""

    rating: Rating
    number: int  # 1 = the first (baseline) rating
    total: float
    change: float  # total minus the first rating's total
    band: AgeBand  # the child's band on the day of this rating
    state: TrackState

    @property
    def reliable_change(self) -> float:
        """The reliable-change threshold that applied to this rating."""
        return self.band.reliable_change


def track(
    outcome: Sequence[Rating], birth: date, rules: ScoringRules = DEFAULT_RULES
) -> list[TrackPoint]:
    """Reliable change of one rater's outcome totals from the first (Miller 2003; PCOMS).

    A change of exactly the threshold counts as reliable. From rating `not_on_track_by_rating`
    on, a rating without a reliable improvement over the first is not on track; a reliable
    worsening is flagged at any rating. The threshold is the child's band on the rating's day,
    because every rater (child, parent, teacher) rates the child's functioning.
    """
    points: list[TrackPoint] = []
    baseline: float | None = None
    for rating in outcome:
        if rating.total is None:
            continue
        if baseline is None:
            baseline = rating.total
        number = len(points) + 1
        change = round(rating.total - baseline, _DIGITS)
        band = band_on(birth, rating.answered_at, rules)
        state: TrackState
        if number > 1 and change <= -band.reliable_change:
            state = "worsening"
        elif number > 1 and change >= band.reliable_change:
            state = "on_track"
        elif number < rules.not_on_track_by_rating:
            state = "early"
        else:
            state = "not_on_track"
        points.append(TrackPoint(rating, number, rating.total, change, band, state))
    return points


def child_participants(case: CaseData) -> set[str]:
    """The participant ids that rate as the child."""
    return {r.participant_id for r in case.raters if r.role == CHILD}
