"""Ages and bands, totals, ratings from answers and reliable change, on worked examples."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reports.model import ItemAnswer
from reports.rules import DEFAULT_RULES, ScoringRules
from reports.scoring import age_on, band_on, build_ratings, kind_of, scale_total, series, track
from tests.reports.builders import BIRTH_12, BIRTH_13, CHILD_ID, PARENT_ID, outcomes, survey, week


@pytest.mark.parametrize(
    ("day", "age"),
    [(date(2026, 11, 23), 12), (date(2026, 11, 24), 13), (date(2027, 11, 23), 13)],
)
def test_age_counts_the_birthday_itself(day: date, age: int) -> None:
    assert age_on(date(2013, 11, 24), day) == age


def test_a_leap_day_child_turns_a_year_older_on_1_march_in_common_years() -> None:
    birth = date(2012, 2, 29)
    assert age_on(birth, date(2025, 2, 28)) == 12
    assert age_on(birth, date(2025, 3, 1)) == 13
    assert age_on(birth, date(2024, 2, 29)) == 12


@pytest.mark.parametrize(
    ("age", "name", "cutoff", "rc"),
    [
        (4, "young_child", 32, 6),
        (6, "child", 32, 6),
        (12, "child", 32, 6),
        (13, "youth", 28, 5),
        (17, "youth", 28, 5),
        (18, "adult", 25, 5),
        (40, "adult", 25, 5),
    ],
)
def test_each_age_band_has_the_domain_cutoff_and_reliable_change(
    age: int, name: str, cutoff: float, rc: float
) -> None:
    at = datetime(2026, 6, 1, 12, tzinfo=UTC)
    band = band_on(date(2026 - age, 1, 1), at)
    assert (band.name, band.cutoff, band.reliable_change) == (name, cutoff, rc)


def test_band_changes_on_the_13th_birthday_in_copenhagen_time() -> None:
    birth = date(2013, 11, 24)
    # 23:30 UTC on the 23rd is 00:30 on the 24th in Copenhagen: already 13.
    assert band_on(birth, datetime(2026, 11, 23, 22, 59, tzinfo=UTC)).cutoff == 32
    assert band_on(birth, datetime(2026, 11, 23, 23, 30, tzinfo=UTC)).cutoff == 28


def test_scale_total_sums_four_items_and_refuses_incomplete_by_default() -> None:
    assert scale_total([5, 6, 7, 8.5]) == 26.5
    assert scale_total([5, 6, None, 8]) is None
    assert scale_total([5, 6, 7]) is None


def test_scale_total_prorates_when_the_organisation_allows_a_missing_item() -> None:
    rules = ScoringRules(max_missing_items=1)
    assert scale_total([5, 6, None, 7], rules) == 24.0
    assert scale_total([5, None, None, 7], rules) is None


def test_half_point_sums_do_not_slip_below_a_threshold() -> None:
    assert scale_total([8.975] * 4) == 35.9
    assert scale_total([0.1, 0.2, 35.7, 0.0]) == 36.0


def test_kind_comes_from_the_instrument_prefix() -> None:
    assert [kind_of(i) for i in ("outcome-child", "session-adult", "goals", "x-1")] == [
        "outcome",
        "session",
        "goal",
        None,
    ]


def test_ratings_are_grouped_by_survey_id() -> None:
    answers = survey(CHILD_ID, week(0), 20) + survey(CHILD_ID, week(0, 1), 38, kind="session")
    ratings = build_ratings(answers)
    assert [(r.kind, r.total, r.partial) for r in ratings] == [
        ("outcome", 20.0, False),
        ("session", 38.0, False),
    ]


def test_without_survey_id_a_repeated_item_starts_the_next_rating() -> None:
    first = survey(CHILD_ID, week(0), 20, survey_id=None)
    second = survey(CHILD_ID, week(0, hours=0.5), 24, survey_id=None)
    assert [r.total for r in build_ratings(first + second)] == [20.0, 24.0]


def test_without_survey_id_a_long_pause_starts_the_next_rating() -> None:
    answers = survey(CHILD_ID, week(0), 20, survey_id=None)
    late = [
        ItemAnswer(week(1), a.participant_id, a.rater_role, a.instrument, "1", a.item, 1.0)
        for a in answers[:2]
    ]
    ratings = build_ratings(answers[:2] + late)
    assert len(ratings) == 2 and all(r.total is None and r.partial for r in ratings)


def test_a_skipped_item_makes_the_rating_partial_without_a_total() -> None:
    (rating,) = build_ratings(survey(CHILD_ID, week(0), scores=[5, None, 5, 5]))
    assert rating.partial and rating.total is None and rating.items["family"] is None


def test_unknown_instruments_are_left_out() -> None:
    odd = ItemAnswer(week(0), CHILD_ID, "child", "mood-check", "1", "x", 3.0)
    assert build_ratings([odd]) == []


def _states(totals: list[float], birth: date = BIRTH_12) -> list[str]:
    ratings = series(build_ratings(outcomes(CHILD_ID, totals)), "outcome")[CHILD_ID]
    return [p.state for p in track(ratings, birth)]


def test_children_need_six_points_for_a_reliable_improvement() -> None:
    assert _states([20, 25, 25]) == ["early", "early", "not_on_track"]
    assert _states([20, 26, 25]) == ["early", "on_track", "not_on_track"]


def test_young_people_need_exactly_five_points() -> None:
    assert _states([20, 25, 24.5], birth=BIRTH_13) == ["early", "on_track", "not_on_track"]


def test_a_reliable_worsening_counts_at_the_second_rating() -> None:
    assert _states([20, 14]) == ["early", "worsening"]
    assert _states([20, 15]) == ["early", "early"]


def test_change_is_measured_from_each_raters_own_first_rating() -> None:
    answers = outcomes(CHILD_ID, [10, 12, 17]) + outcomes(PARENT_ID, [None, 30, 36, 31])
    by_rater = series(build_ratings(answers), "outcome")
    child = track(by_rater[CHILD_ID], BIRTH_12)
    parent = track(by_rater[PARENT_ID], BIRTH_12)
    assert [p.change for p in child] == [0, 2, 7]
    assert [p.change for p in parent] == [0, 6, 1]


@settings(deadline=None, max_examples=60)
@given(st.lists(st.floats(0, 10, allow_nan=False), min_size=4, max_size=4))
def test_a_complete_total_is_the_sum_and_within_0_to_40(scores: list[float]) -> None:
    total = scale_total(scores)
    assert total is not None
    assert 0 <= total <= 40
    assert total == pytest.approx(sum(scores), abs=1e-6)


@settings(deadline=None, max_examples=60)
@given(st.lists(st.integers(0, 40), min_size=1, max_size=12))
def test_worsening_is_flagged_exactly_when_the_drop_reaches_the_threshold(
    totals: list[int],
) -> None:
    ratings = series(build_ratings(outcomes(CHILD_ID, totals)), "outcome")[CHILD_ID]
    for point in track(ratings, BIRTH_12, DEFAULT_RULES):
        worse = point.number > 1 and point.change <= -6
        assert (point.state == "worsening") == worse
