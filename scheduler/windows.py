"""Contact windows: quiet hours and per-participant hours on the local wall clock, across DST."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

COPENHAGEN = ZoneInfo("Europe/Copenhagen")
DAY = 24 * 60  # minutes
EXPECTED_QUIET = "quiet hours look like '20:00-08:00' or '12:00-13:00', or 'off'"
EXPECTED_WINDOW = (
    "a contact window looks like 'mon-fri 08:00-16:00', 'man-fre 08:00-16:00', "
    "'sat,sun 10:00-18:00' or '08:00-16:00' (every day)"
)
# A one-day-a-week window is at most 7 days away, but a DST gap can swallow that day's only
# span (say sun 02:15-02:45), so search two weeks and a day before giving up.
HORIZON = timedelta(days=15)

_DAY_NAMES = (
    ("monday", "mandag"),
    ("tuesday", "tirsdag"),
    ("wednesday", "onsdag"),
    ("thursday", "torsdag"),
    ("friday", "fredag"),
    ("saturday", "lørdag", "loerdag", "lordag"),
    ("sunday", "søndag", "soendag", "sondag"),
)
_CLOCK = r"(\d{1,2})(?:[:.](\d{2}))?"
_SPAN = re.compile(rf"^\s*{_CLOCK}\s*[-–—]\s*{_CLOCK}\s*$")
_FIRST_DIGIT = re.compile(r"\d")
_OFF = frozenset({"", "off", "none", "no", "ingen", "fra", "-"})


class BadWindow(ValueError):
    """Quiet hours or a contact window that cannot be read, or that never allow a message."""


@dataclass(frozen=True)
class QuietHours:
    """No messages from `start` up to `end` local time; crosses midnight when `end` < `start`."""

    start: time
    end: time

    def __post_init__(self) -> None:
        if self.start == self.end:
            raise BadWindow(f"quiet hours must start and end at different times; "
                            f"{EXPECTED_QUIET}")

    def spans(self) -> list[tuple[int, int]]:
        """The quiet minutes of one day as [start, end) minute ranges."""
        start, end = _minutes(self.start), _minutes(self.end)
        return [(start, end)] if start < end else [(start, DAY), (0, end)]

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True)
class ContactWindow:
    """Messages only on `days` (0 = Monday) from `start` up to `end` local time.

    An `end` of 00:00 means midnight at the end of the day; windows do not cross midnight.
    """

    days: frozenset[int]
    start: time
    end: time

    def __post_init__(self) -> None:
        if not self.days or not self.days <= set(range(7)):
            raise BadWindow(f"a contact window needs weekdays 0-6; {EXPECTED_WINDOW}")
        if _minutes(self.start) >= self._end_minute():
            raise BadWindow(f"a contact window must end after it starts on the same day; "
                            f"{EXPECTED_WINDOW}")

    def _end_minute(self) -> int:
        return _minutes(self.end) or DAY

    def span(self, weekday: int) -> list[tuple[int, int]]:
        """The window's minutes on a day with this weekday as [start, end) minute ranges."""
        if weekday not in self.days:
            return []
        return [(_minutes(self.start), self._end_minute())]

    def __str__(self) -> str:
        times = f"{self.start:%H:%M}-{self.end:%H:%M}"
        if len(self.days) == 7:
            return times
        runs: list[list[int]] = []
        for day in sorted(self.days):
            if runs and runs[-1][-1] == day - 1:
                runs[-1].append(day)
            else:
                runs.append([day])
        name = [names[0][:3] for names in _DAY_NAMES]
        days = ",".join(
            f"{name[r[0]]}-{name[r[-1]]}" if len(r) > 2 else ",".join(name[d] for d in r)
            for r in runs
        )
        return f"{days} {times}"


DEFAULT_QUIET_HOURS = QuietHours(time(20, 0), time(8, 0))


def _minutes(at: time) -> int:
    return at.hour * 60 + at.minute


def _parse_span(text: str, expected: str) -> tuple[time, time]:
    match = _SPAN.match(text)
    if not match:
        raise BadWindow(f"cannot read the times in {text.strip()!r}; {expected}")
    clocks: list[time] = []
    for hour, minute in ((match[1], match[2]), (match[3], match[4])):
        h, m = int(hour), int(minute or 0)
        if (h, m) == (24, 0):
            h = 0  # 24:00 is midnight at the end of the day, written 00:00 here
        if h > 23 or m > 59:
            raise BadWindow(f"{hour}:{minute or '00'} is not a time of day; {expected}")
        clocks.append(time(h, m))
    return clocks[0], clocks[1]


def _weekday(token: str, text: str) -> int:
    token = token.strip().lower().rstrip(".")
    for number, names in enumerate(_DAY_NAMES):
        # Three letters or more of an English or Danish day name: mon, man, tirs, søn, sunday.
        if len(token) >= 3 and any(name.startswith(token) for name in names):
            return number
    raise BadWindow(f"{token!r} is not a weekday in {text!r}; {EXPECTED_WINDOW}")


def _parse_days(spec: str, text: str) -> frozenset[int]:
    days: set[int] = set()
    for part in spec.replace("–", "-").replace("—", "-").split(","):
        first, dash, last = part.partition("-")
        if not dash:
            days.add(_weekday(first, text))
            continue
        start, stop = _weekday(first, text), _weekday(last, text)
        # A range may wrap round the week: fri-mon is Friday to Monday.
        days.update((start + i) % 7 for i in range((stop - start) % 7 + 1))
    return frozenset(days)


def parse_quiet_hours(text: str) -> QuietHours | None:
    """`20:00-08:00` (crossing midnight), `12:00-13:00`, or `off`/empty for none."""
    if text.strip().lower() in _OFF:
        return None
    start, end = _parse_span(text, EXPECTED_QUIET)
    return QuietHours(start, end)


def parse_window(text: str) -> ContactWindow:
    """`mon-fri 08:00-16:00`, `man-fre 8-16`, `sat,sun 10:00-18:00` or `08:00-16:00`."""
    # Day names hold no digits, so the times start at the first digit.
    digit = _FIRST_DIGIT.search(text)
    if not digit:
        raise BadWindow(f"cannot read {text!r}; {EXPECTED_WINDOW}")
    days_text = text[:digit.start()].strip()
    days = _parse_days(days_text, text) if days_text else frozenset(range(7))
    start, end = _parse_span(text[digit.start():], EXPECTED_WINDOW)
    return ContactWindow(days, start, end)


def _allowed_spans(weekday: int, quiet: QuietHours | None,
                   window: ContactWindow | None) -> list[tuple[int, int]]:
    """The allowed minutes of a local day with this weekday, as [start, end) ranges."""
    spans = window.span(weekday) if window else [(0, DAY)]
    for q_start, q_end in quiet.spans() if quiet else []:
        spans = [piece for start, end in spans
                 for piece in ((start, min(end, q_start)), (max(start, q_end), end))
                 if piece[0] < piece[1]]
    return spans


def ensure_compatible(quiet: QuietHours | None, window: ContactWindow | None) -> None:
    """Raise BadWindow when the window falls wholly inside quiet hours on every one of its days."""
    if not any(_allowed_spans(weekday, quiet, window) for weekday in range(7)):
        raise BadWindow(f"the contact window {window} and quiet hours {quiet} exclude each other:"
                        f" no minute of the week is allowed")


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{at.isoformat()} has no time zone; pass a timezone-aware datetime")
    return at.astimezone(UTC)


def is_allowed(at: datetime, zone: ZoneInfo = COPENHAGEN,
               quiet: QuietHours | None = DEFAULT_QUIET_HOURS,
               window: ContactWindow | None = None) -> bool:
    """True when a message may go out at `at` (timezone-aware) by the local wall clock."""
    local = _utc(at).astimezone(zone)
    minute = local.hour * 60 + local.minute
    return any(start <= minute < end
               for start, end in _allowed_spans(local.weekday(), quiet, window))


def _wall_starts(first: date, last: date, zone: ZoneInfo, quiet: QuietHours | None,
                 window: ContactWindow | None) -> list[datetime]:
    """UTC instants where the wall clock reaches the start of an allowed span."""
    out: list[datetime] = []
    day = first
    while day <= last:
        for start, _ in _allowed_spans(day.weekday(), quiet, window):
            wall = datetime.combine(day, time(start // 60, start % 60))
            # Both folds: a start inside the October repeat hour happens twice. A start inside
            # the March gap never happens; _transitions() supplies the instant after the gap.
            for fold in (0, 1):
                instant = wall.replace(tzinfo=zone, fold=fold).astimezone(UTC)
                if instant.astimezone(zone).replace(tzinfo=None) == wall:
                    out.append(instant)
        day += timedelta(days=1)
    return out


def _transitions(zone: ZoneInfo, start: datetime, stop: datetime) -> list[datetime]:
    """UTC instants in [start, stop] where the zone's offset changes (the wall clock jumps)."""
    out: list[datetime] = []
    hour = timedelta(hours=1)
    # Whole hours, so the bisection below lands on the transition's whole minute.
    t = start.replace(minute=0, second=0, microsecond=0)
    while t < stop:
        before = t.astimezone(zone).utcoffset()
        if (t + hour).astimezone(zone).utcoffset() != before:
            # Offsets change on whole minutes; bisect the hour down to the second.
            lo, hi = 0, 3600
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if (t + timedelta(seconds=mid)).astimezone(zone).utcoffset() == before:
                    lo = mid
                else:
                    hi = mid
            out.append(t + timedelta(seconds=hi))
        t += hour
    return out


def next_allowed(at: datetime, zone: ZoneInfo = COPENHAGEN,
                 quiet: QuietHours | None = DEFAULT_QUIET_HOURS,
                 window: ContactWindow | None = None) -> datetime:
    """`at` in UTC when allowed, else the first allowed instant after it (a whole minute, UTC).

    Raises BadWindow when the window and quiet hours exclude each other.
    """
    at = _utc(at)
    if is_allowed(at, zone, quiet, window):
        return at
    ensure_compatible(quiet, window)
    # The first allowed instant starts an allowed stretch: either the wall clock reaches a
    # span's start, or a DST jump lands the clock inside a span. Check only those candidates.
    stop = at + HORIZON
    local_day = at.astimezone(zone).date()
    candidates = _wall_starts(local_day - timedelta(days=1),
                              local_day + HORIZON + timedelta(days=1), zone, quiet, window)
    candidates += _transitions(zone, at, stop)
    for candidate in sorted(c for c in candidates if at < c <= stop):
        if is_allowed(candidate, zone, quiet, window):
            return candidate
    # Unreachable for any zone with at most one DST change a fortnight; kept so a strange zone
    # gets a clear error instead of a wrong time.
    raise BadWindow(f"no allowed minute within {HORIZON.days} days of {at.isoformat()} for "
                    f"contact window {window} and quiet hours {quiet}")
