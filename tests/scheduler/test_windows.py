"""Contact windows: parsing, quiet hours, weekday windows and DST-safe deferral."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.windows import (
    DEFAULT_QUIET_HOURS,
    BadWindow,
    ContactWindow,
    QuietHours,
    ensure_compatible,
    is_allowed,
    next_allowed,
    parse_quiet_hours,
    parse_window,
)

CPH = ZoneInfo("Europe/Copenhagen")
WEEKDAYS = frozenset(range(5))
TEACHER = ContactWindow(WEEKDAYS, time(8, 0), time(16, 0))


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0,
          second: int = 0) -> datetime:
    """A Copenhagen wall-clock time (fold 0), for readable test tables."""
    return datetime(year, month, day, hour, minute, second, tzinfo=CPH)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20:00-08:00", QuietHours(time(20), time(8))),
        ("12:00-13:00", QuietHours(time(12), time(13))),
        (" 22.30 – 7 ", QuietHours(time(22, 30), time(7))),
        ("20:00-24:00", QuietHours(time(20), time(0))),
        ("off", None),
        ("", None),
        ("ingen", None),
    ],
)
def test_parse_quiet_hours_reads_good_forms(text: str, expected: QuietHours | None) -> None:
    assert parse_quiet_hours(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("08:00-08:00", "different times"),
        ("8pm-8am", "cannot read"),
        ("25:00-08:00", "not a time of day"),
        ("20:00-08:60", "not a time of day"),
    ],
)
def test_parse_quiet_hours_rejects_bad_forms(text: str, reason: str) -> None:
    with pytest.raises(BadWindow) as caught:
        parse_quiet_hours(text)

    assert reason in str(caught.value)
    assert "20:00-08:00" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mon-fri 08:00-16:00", TEACHER),
        ("man-fre 08:00-16:00", TEACHER),
        ("Man - Fre 8-16", TEACHER),
        ("man–fre 8–16", TEACHER),
        ("mandag-fredag 08.00-16.00", TEACHER),
        ("08:00-16:00", ContactWindow(frozenset(range(7)), time(8), time(16))),
        ("sat,sun 10:00-18:00", ContactWindow(frozenset({5, 6}), time(10), time(18))),
        ("lør, søn 10:00-18:00", ContactWindow(frozenset({5, 6}), time(10), time(18))),
        ("loer,soen 10-18", ContactWindow(frozenset({5, 6}), time(10), time(18))),
        ("fri-mon 10-18", ContactWindow(frozenset({4, 5, 6, 0}), time(10), time(18))),
        ("tir,tor 15:00-24:00", ContactWindow(frozenset({1, 3}), time(15), time(0))),
    ],
)
def test_parse_window_reads_english_and_danish(text: str, expected: ContactWindow) -> None:
    assert parse_window(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "cannot read"),
        ("mon-fri", "cannot read"),
        ("mon-xyz 08:00-16:00", "'xyz' is not a weekday"),
        ("mo-fr 08:00-16:00", "'mo' is not a weekday"),
        ("16:00-08:00", "end after it starts"),
        ("mon 10:00-10:00", "end after it starts"),
        ("mon 08:00", "cannot read the times"),
    ],
)
def test_parse_window_rejects_bad_forms_showing_the_form(text: str, reason: str) -> None:
    with pytest.raises(BadWindow) as caught:
        parse_window(text)

    assert reason in str(caught.value)
    assert "mon-fri 08:00-16:00" in str(caught.value)


@pytest.mark.parametrize("text", ["mon-fri 08:00-16:00", "sat,sun 10:00-18:00", "08:00-00:00",
                                  "mon,wed,fri-sun 09:00-10:00"])
def test_window_text_round_trips(text: str) -> None:
    assert str(parse_window(text)) == text


@pytest.mark.parametrize(
    ("due", "expected"),
    [
        (local(2026, 1, 14, 21, 30), utc(2026, 1, 15, 7, 0)),  # evening: next morning 08:00
        (local(2026, 1, 14, 7, 59), utc(2026, 1, 14, 7, 0)),  # one minute early: waits
        (local(2026, 1, 14, 7, 59, 59), utc(2026, 1, 14, 7, 0)),
        (local(2026, 1, 14, 20, 0), utc(2026, 1, 15, 7, 0)),  # quiet hours start at 20:00
        (local(2026, 1, 14, 23, 59), utc(2026, 1, 15, 7, 0)),
        (local(2026, 7, 1, 21, 30), utc(2026, 7, 2, 6, 0)),  # summer time: 08:00 is 06:00 UTC
        # Spring forward on 29 March 2026: 08:00 CEST is 06:00 UTC.
        (local(2026, 3, 28, 21, 30), utc(2026, 3, 29, 6, 0)),
        (utc(2026, 3, 29, 0, 59), utc(2026, 3, 29, 6, 0)),  # just before the jump
        (utc(2026, 3, 29, 1, 0), utc(2026, 3, 29, 6, 0)),  # 03:00 CEST
        # Fall back on 25 October 2026: 08:00 CET is 07:00 UTC.
        (local(2026, 10, 24, 21, 30), utc(2026, 10, 25, 7, 0)),
        (utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 7, 0)),  # 02:30 CEST, first time
        (utc(2026, 10, 25, 1, 30), utc(2026, 10, 25, 7, 0)),  # 02:30 CET, second time
    ],
)
def test_quiet_hours_defer_to_eight_local(due: datetime, expected: datetime) -> None:
    assert next_allowed(due, CPH, DEFAULT_QUIET_HOURS, None) == expected


@pytest.mark.parametrize(
    "due", [local(2026, 1, 14, 8, 0), local(2026, 3, 29, 8, 0), local(2026, 10, 25, 19, 59)]
)
def test_allowed_instant_goes_at_once_in_utc(due: datetime) -> None:
    result = next_allowed(due, CPH, DEFAULT_QUIET_HOURS, None)

    assert result == due
    assert result.tzinfo is UTC


def test_same_day_quiet_hours_defer_to_their_end() -> None:
    lunch = QuietHours(time(12), time(13))

    assert next_allowed(local(2026, 1, 14, 12, 15), CPH, lunch, None) == local(2026, 1, 14, 13)
    assert next_allowed(local(2026, 1, 14, 21, 0), CPH, lunch, None) == local(2026, 1, 14, 21)


def test_no_quiet_hours_and_no_window_allow_everything() -> None:
    assert next_allowed(local(2026, 1, 14, 3, 0), CPH, None, None) == local(2026, 1, 14, 3, 0)


@pytest.mark.parametrize(
    ("due", "quiet", "expected"),
    [
        (local(2026, 1, 16, 16, 30), None, local(2026, 1, 19, 8)),  # Friday after school
        (local(2026, 1, 17, 10, 0), None, local(2026, 1, 19, 8)),  # Saturday
        (local(2026, 1, 18, 23, 59), None, local(2026, 1, 19, 8)),  # Sunday night
        (local(2026, 1, 14, 16, 0), None, local(2026, 1, 15, 8)),  # the end is exclusive
        (local(2026, 1, 14, 12, 0), None, local(2026, 1, 14, 12)),
        (local(2026, 3, 27, 17, 0), None, local(2026, 3, 30, 8)),  # weekend with DST change
        (local(2026, 1, 14, 12, 15), QuietHours(time(12), time(13)), local(2026, 1, 14, 13)),
        (local(2026, 1, 16, 15, 0), QuietHours(time(15), time(8)), local(2026, 1, 19, 8)),
    ],
)
def test_teacher_window_defers_to_the_next_school_day(
    due: datetime, quiet: QuietHours | None, expected: datetime
) -> None:
    assert next_allowed(due, CPH, quiet, TEACHER) == expected


@pytest.mark.parametrize(
    ("due", "expected"),
    [
        (local(2026, 1, 14, 7, 30), local(2026, 1, 14, 8)),  # window open, still quiet
        (local(2026, 1, 14, 20, 30), local(2026, 1, 15, 8)),  # window open, quiet again
        (local(2026, 1, 16, 20, 30), local(2026, 1, 19, 8)),  # Friday evening
    ],
)
def test_window_and_quiet_hours_both_apply(due: datetime, expected: datetime) -> None:
    parent = parse_window("mon-fri 07:00-21:00")

    assert next_allowed(due, CPH, DEFAULT_QUIET_HOURS, parent) == expected


@pytest.mark.parametrize("text", ["mon-fri 21:00-23:00", "06:00-08:00", "sat 20:00-00:00"])
def test_contradictory_window_and_quiet_hours_raise(text: str) -> None:
    window = parse_window(text)

    with pytest.raises(BadWindow, match="exclude each other"):
        next_allowed(local(2026, 1, 14, 21, 30), CPH, DEFAULT_QUIET_HOURS, window)
    with pytest.raises(BadWindow, match="exclude each other"):
        ensure_compatible(DEFAULT_QUIET_HOURS, window)


def test_window_overlapping_quiet_hours_on_one_day_is_compatible() -> None:
    ensure_compatible(DEFAULT_QUIET_HOURS, parse_window("sat 07:00-09:00"))


def test_window_start_inside_the_spring_gap_opens_when_the_clock_jumps() -> None:
    # 02:30 does not exist on 29 March 2026; the wall clock jumps from 02:00 to 03:00 CEST.
    window = parse_window("02:30-04:00")

    assert next_allowed(utc(2026, 3, 29, 0, 30), CPH, None, window) == utc(2026, 3, 29, 1, 0)


def test_window_start_inside_the_autumn_repeat_hour_opens_twice() -> None:
    window = parse_window("02:30-04:00")

    # 02:10 CEST waits for 02:30 CEST; 02:10 CET (an hour later) waits for 02:30 CET.
    assert next_allowed(utc(2026, 10, 25, 0, 10), CPH, None, window) == utc(2026, 10, 25, 0, 30)
    assert next_allowed(utc(2026, 10, 25, 1, 10), CPH, None, window) == utc(2026, 10, 25, 1, 30)


def test_weekly_window_lost_in_the_spring_gap_waits_a_week_more() -> None:
    window = parse_window("sun 02:15-02:45")

    assert next_allowed(local(2026, 3, 23, 12), CPH, None, window) == local(2026, 4, 5, 2, 15)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next_allowed(datetime(2026, 1, 14, 12), CPH, DEFAULT_QUIET_HOURS, None)
    with pytest.raises(ValueError, match="timezone-aware"):
        is_allowed(datetime(2026, 1, 14, 12), CPH, DEFAULT_QUIET_HOURS, None)


def test_default_arguments_are_copenhagen_quiet_hours() -> None:
    assert next_allowed(local(2026, 1, 14, 21, 30)) == utc(2026, 1, 15, 7, 0)
    assert not is_allowed(local(2026, 1, 14, 21, 30))


# --- properties ------------------------------------------------------------------------------

INSTANTS = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31),
                        timezones=st.just(UTC))
REALISTIC = st.tuples(
    st.sampled_from([DEFAULT_QUIET_HOURS, QuietHours(time(12), time(13)), None]),
    st.sampled_from([None, TEACHER, parse_window("sat,sun 10:00-18:00"),
                     parse_window("mon-fri 07:00-21:00"), parse_window("wed 15:00-15:30")]),
)
ZONES = st.sampled_from([ZoneInfo(name) for name in (
    "Europe/Copenhagen", "America/New_York", "America/Santiago", "Australia/Lord_Howe",
    "Asia/Kolkata", "Pacific/Chatham")])
QUARTERS = st.integers(0, 95).map(lambda q: time(q // 4, q % 4 * 15))


@st.composite
def any_window(draw: st.DrawFn) -> ContactWindow | None:
    if draw(st.booleans()):
        return None
    start, end = sorted(draw(st.lists(QUARTERS, min_size=2, max_size=2, unique=True)))
    days = draw(st.frozensets(st.integers(0, 6), min_size=1))
    return ContactWindow(days, start, end)


@st.composite
def any_quiet(draw: st.DrawFn) -> QuietHours | None:
    if draw(st.booleans()):
        return None
    start, end = draw(st.lists(QUARTERS, min_size=2, max_size=2, unique=True))
    return QuietHours(start, end)


def assert_first_allowed(at: datetime, result: datetime, zone: ZoneInfo,
                         quiet: QuietHours | None, window: ContactWindow | None,
                         within: timedelta) -> None:
    assert at <= result <= at + within
    assert is_allowed(result, zone, quiet, window)
    assert next_allowed(result, zone, quiet, window) == result
    if result > at:
        # Sampled, not exhaustive: nothing between `at` and the result is allowed.
        probes = [result - timedelta(seconds=1)]
        probes += [at + timedelta(minutes=m) for m in range(0, 15 * 24 * 60, 20)]
        assert not any(is_allowed(p, zone, quiet, window) for p in probes if at <= p < result)


@settings(max_examples=200, deadline=None)
@given(at=INSTANTS, config=REALISTIC)
def test_next_allowed_is_allowed_within_eight_days(
    at: datetime, config: tuple[QuietHours | None, ContactWindow | None]
) -> None:
    quiet, window = config

    result = next_allowed(at, CPH, quiet, window)

    assert_first_allowed(at, result, CPH, quiet, window, timedelta(days=8))


@settings(max_examples=200, deadline=None)
@given(at=INSTANTS, zone=ZONES, quiet=any_quiet(), window=any_window())
def test_next_allowed_finds_the_first_allowed_instant_in_any_zone(
    at: datetime, zone: ZoneInfo, quiet: QuietHours | None, window: ContactWindow | None
) -> None:
    try:
        ensure_compatible(quiet, window)
    except BadWindow:
        with pytest.raises(BadWindow, match="exclude each other"):
            next_allowed(at, zone, quiet, window)
        return

    result = next_allowed(at, zone, quiet, window)

    assert_first_allowed(at, result, zone, quiet, window, timedelta(days=15))
