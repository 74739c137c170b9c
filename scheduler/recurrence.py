"""Recurring sessions: local wall-clock times expanded in a zone, stable across DST changes."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

_EVERY = re.compile(r"^\s*(\d+)\s*([dw])\s*$", re.IGNORECASE)
MAX_OCCURRENCES = 200


class BadRecurrence(ValueError):
    """A recurrence that cannot be read; the message shows the expected form."""


def parse_every(text: str) -> timedelta:
    """`1w`, `2w` or `10d` as a step in calendar days."""
    match = _EVERY.match(text)
    if not match or int(match[1]) == 0:
        raise BadRecurrence(f"--every must look like 1w, 2w or 14d, got {text!r}")
    days = int(match[1]) * (7 if match[2].lower() == "w" else 1)
    return timedelta(days=days)


def expand(first: datetime, every: timedelta, until: date, zone: ZoneInfo) -> list[datetime]:
    """UTC start times from `first` every `every` up to and including the day `until`.

    Steps are taken on the local wall clock, so a 15:00 session stays at 15:00 local when the
    clocks change in March and October (the UTC time moves instead).
    """
    if first.tzinfo is None:
        first = first.replace(tzinfo=zone)
    local = first.astimezone(zone)
    wall = local.replace(tzinfo=None)
    out: list[datetime] = []
    while wall.date() <= until:
        if len(out) >= MAX_OCCURRENCES:
            raise BadRecurrence(f"more than {MAX_OCCURRENCES} sessions; choose an earlier --until")
        out.append(wall.replace(tzinfo=zone).astimezone(UTC))
        wall += every
    return out
