"""Each alert rule on worked examples and at its boundaries; a case's urgency right now."""

from __future__ import annotations

from datetime import date

from reports.alerts import (
    RULES,
    Urgency,
    case_status,
    divergence_alerts,
    evaluate,
    missing_rating_alerts,
    outcome_alerts,
    safety_alerts,
    session_alerts,
)
from reports.model import Alert, PromptOutcome, SafetyEvent
from reports.rules import ScoringRules
from reports.scoring import build_ratings
from tests.reports.builders import (
    BIRTH_12,
    BIRTH_13,
    CHILD_ID,
    PARENT_ID,
    TEACHER_ID,
    make_case,
    outcomes,
    sessions,
    survey,
    week,
)


def _rules_of(alerts: list[Alert]) -> list[str]:
    return [a.rule for a in alerts]


def test_rule_names_are_the_stable_strings() -> None:
    assert RULES == (
        "safety",
        "not_on_track",
        "reliable_worsening",
        "session_low",
        "session_drop",
        "rater_divergence",
        "missing_ratings",
    )


def test_not_on_track_is_raised_at_the_third_rating_without_six_points_for_a_child() -> None:
    ratings = build_ratings(outcomes(CHILD_ID, [20, 23, 25]))
    (alert,) = outcome_alerts(ratings, BIRTH_12)
    assert alert.rule == "not_on_track"
    assert alert.raised_at == week(2)
    assert (alert.value, alert.threshold, alert.severity) == (5, 6, "high")
    assert "child" in alert.detail and "rating 3" in alert.detail


def test_six_points_by_the_third_rating_is_on_track_for_a_child() -> None:
    assert outcome_alerts(build_ratings(outcomes(CHILD_ID, [20, 23, 26])), BIRTH_12) == []


def test_five_points_by_the_third_rating_is_on_track_for_a_13_year_old() -> None:
    assert outcome_alerts(build_ratings(outcomes(CHILD_ID, [20, 23, 25])), BIRTH_13) == []


def test_a_child_turning_13_is_judged_by_the_band_on_the_day_of_each_rating() -> None:
    ratings = build_ratings(outcomes(CHILD_ID, [20, 23, 25]))  # the 3rd on 2026-09-15
    assert week(2).date() == date(2026, 9, 15)
    assert outcome_alerts(ratings, date(2013, 9, 15)) == []  # 13 that day: 5 points suffice
    assert _rules_of(outcome_alerts(ratings, date(2013, 9, 16))) == ["not_on_track"]  # still 12


def test_not_on_track_is_raised_once_while_it_lasts_and_again_after_recovery() -> None:
    ratings = build_ratings(outcomes(CHILD_ID, [20, 21, 22, 23, 27, 24, 24]))
    alerts = outcome_alerts(ratings, BIRTH_12)
    assert [(a.rule, a.raised_at) for a in alerts] == [
        ("not_on_track", week(2)),
        ("not_on_track", week(5)),
    ]


def test_reliable_worsening_is_raised_at_any_rating_from_six_points_down_for_a_child() -> None:
    assert _rules_of(outcome_alerts(build_ratings(outcomes(CHILD_ID, [20, 14])), BIRTH_12)) == [
        "reliable_worsening"
    ]
    assert outcome_alerts(build_ratings(outcomes(CHILD_ID, [20, 15])), BIRTH_12) == []


def test_reliable_worsening_at_exactly_five_points_for_a_13_year_old() -> None:
    (alert,) = outcome_alerts(build_ratings(outcomes(CHILD_ID, [20, 15])), BIRTH_13)
    assert (alert.rule, alert.value, alert.threshold) == ("reliable_worsening", -5, -5)


def test_each_rater_is_tracked_on_its_own() -> None:
    answers = outcomes(CHILD_ID, [20, 27, 28]) + outcomes(PARENT_ID, [20, 21, 22])
    (alert,) = outcome_alerts(build_ratings(answers), BIRTH_12)
    assert (alert.rule, alert.participant_id, alert.rater_role) == (
        "not_on_track",
        PARENT_ID,
        "parent",
    )


def test_session_rating_of_exactly_36_raises_nothing() -> None:
    assert session_alerts(build_ratings(sessions(CHILD_ID, [36, 36]))) == []


def test_session_rating_below_36_is_session_low() -> None:
    (alert,) = session_alerts(build_ratings(sessions(CHILD_ID, [35.9])))
    assert (alert.rule, alert.value, alert.threshold) == ("session_low", 35.9, 36)


def test_a_drop_of_exactly_one_point_is_session_drop() -> None:
    alerts = session_alerts(build_ratings(sessions(CHILD_ID, [39, 38, 37.5, 38])))
    assert [(a.rule, a.value, a.threshold) for a in alerts] == [("session_drop", 38, 39)]


def test_a_low_and_falling_session_raises_both_rules() -> None:
    alerts = session_alerts(build_ratings(sessions(CHILD_ID, [37, 34])))
    assert sorted(_rules_of(alerts)) == ["session_drop", "session_low"]


def test_divergence_at_twice_the_childs_reliable_change() -> None:
    child = survey(CHILD_ID, week(0), 30)
    ratings = build_ratings(child + survey(PARENT_ID, week(0, 3), 18))
    (alert,) = divergence_alerts(ratings, BIRTH_12)
    assert (alert.rule, alert.value, alert.threshold, alert.participant_id) == (
        "rater_divergence",
        12,
        12,
        PARENT_ID,
    )
    close = build_ratings(child + survey(PARENT_ID, week(0, 3), 19))
    assert divergence_alerts(close, BIRTH_12) == []


def test_divergence_for_a_13_year_old_starts_at_ten_points() -> None:
    ratings = build_ratings(survey(CHILD_ID, week(0), 30) + survey(TEACHER_ID, week(0, 3), 20))
    assert _rules_of(divergence_alerts(ratings, BIRTH_13)) == ["rater_divergence"]


def test_ratings_further_apart_than_the_window_are_not_compared() -> None:
    ratings = build_ratings(survey(CHILD_ID, week(0), 30) + survey(PARENT_ID, week(3), 10))
    assert divergence_alerts(ratings, BIRTH_12) == []
    wide = ScoringRules(divergence_window_days=30)
    assert _rules_of(divergence_alerts(ratings, BIRTH_12, wide)) == ["rater_divergence"]


def test_divergence_is_raised_once_per_spell() -> None:
    answers = outcomes(CHILD_ID, [30, 30, 30, 30]) + outcomes(PARENT_ID, [15, 16, 25, 15])
    alerts = divergence_alerts(build_ratings(answers), BIRTH_12)
    assert [a.raised_at for a in alerts] == [
        survey(PARENT_ID, week(0), 1)[0].answered_at,
        survey(PARENT_ID, week(3), 1)[0].answered_at,
    ]


def _prompts(pattern: str, pid: str = PARENT_ID) -> list[PromptOutcome]:
    return [PromptOutcome(week(n), pid, c == "y") for n, c in enumerate(pattern)]


def test_two_unanswered_prompts_in_a_row_raise_missing_ratings_once() -> None:
    (alert,) = missing_rating_alerts(_prompts("ynnnn"), roles={PARENT_ID: "parent"})
    assert (alert.rule, alert.raised_at, alert.rater_role) == (
        "missing_ratings",
        week(2),
        "parent",
    )


def test_misses_that_are_not_in_a_row_raise_nothing() -> None:
    assert missing_rating_alerts(_prompts("nynyn")) == []


def test_prompts_are_counted_per_participant() -> None:
    mixed = _prompts("n", CHILD_ID) + _prompts("yn", PARENT_ID)
    assert missing_rating_alerts(mixed) == []


def test_a_safety_event_is_urgent_and_carries_no_words() -> None:
    (alert,) = safety_alerts([SafetyEvent(week(1), CHILD_ID)], roles={CHILD_ID: "child"})
    assert (alert.rule, alert.severity, alert.rater_role) == ("safety", "urgent", "child")
    assert "24 hours" in alert.detail


def test_evaluate_collects_every_rule_in_time_order() -> None:
    case = make_case(
        outcomes(CHILD_ID, [20, 14]) + sessions(CHILD_ID, [37, 35]),
        safety=[SafetyEvent(week(0, 5), CHILD_ID)],
        prompts=_prompts("nn", PARENT_ID),
        raters=[(CHILD_ID, "child"), (PARENT_ID, "parent")],
    )
    alerts = evaluate(case)
    assert [a.raised_at for a in alerts] == sorted(a.raised_at for a in alerts)
    assert set(_rules_of(alerts)) == {
        "safety",
        "reliable_worsening",
        "session_low",
        "session_drop",
        "missing_ratings",
    }


NOW = week(12)


def test_an_unacknowledged_safety_event_keeps_a_case_urgent_however_old() -> None:
    old = make_case(outcomes(CHILD_ID, [20, 27, 28]), safety=[SafetyEvent(week(1), CHILD_ID)])
    assert case_status(old, now=NOW).urgency == Urgency.SAFETY
    done = make_case(
        outcomes(CHILD_ID, [20, 27, 28]),
        safety=[SafetyEvent(week(1), CHILD_ID, acknowledged_at=week(1, 2))],
    )
    assert case_status(done, now=NOW).urgency == Urgency.ON_TRACK


def test_a_safety_event_stops_making_the_case_urgent_once_acknowledged() -> None:
    raised, assessed = week(11, 5), week(11, 6)
    case = make_case(outcomes(CHILD_ID, [20, 27, 28]),
                     safety=[SafetyEvent(raised, CHILD_ID, acknowledged_at=assessed)])

    before = case_status(case, now=week(11, 5) + (assessed - raised) / 2)
    after = case_status(case, now=week(12))

    assert (before.urgency, before.rule) == (Urgency.SAFETY, "safety")
    assert after.urgency == Urgency.ON_TRACK


def test_status_uses_the_latest_rating_for_not_on_track() -> None:
    recovered = make_case(outcomes(CHILD_ID, [20, 21, 22, 28]))
    assert case_status(recovered, now=NOW).urgency == Urgency.ON_TRACK
    stuck = make_case(outcomes(CHILD_ID, [20, 28, 29, 22]))
    status = case_status(stuck, now=NOW)
    assert (status.urgency, status.rule) == (Urgency.NOT_ON_TRACK, "not_on_track")


def test_session_alerts_count_only_within_the_week() -> None:
    case = make_case(outcomes(CHILD_ID, [20, 27, 28]) + sessions(CHILD_ID, [39, 34, 39]))
    assert case_status(case, now=week(1, 5)).urgency == Urgency.ALLIANCE
    assert case_status(case, now=week(9)).urgency == Urgency.ON_TRACK


def test_worsening_outranks_not_on_track_and_the_child_comes_first() -> None:
    case = make_case(outcomes(CHILD_ID, [20, 21, 22]) + outcomes(PARENT_ID, [25, 24, 18]))
    status = case_status(case, now=NOW)
    assert [(a.rule, a.rater_role) for a in status.reasons] == [
        ("reliable_worsening", "parent"),
        ("not_on_track", "child"),
    ]


def test_future_data_is_ignored_when_judging_a_past_moment() -> None:
    case = make_case(outcomes(CHILD_ID, [20, 21, 22]))
    assert case_status(case, now=week(1, 1)).urgency == Urgency.ON_TRACK
    assert case_status(case, now=week(2, 1)).urgency == Urgency.NOT_ON_TRACK
