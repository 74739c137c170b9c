"""Follow-up cadences: when a measure's follow-ups fall, counted from the day the case opened."""

from __future__ import annotations

import calendar
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Literal, cast

Unit = Literal["d", "w", "m", "y"]

DEFAULT_PATH = Path(__file__).with_name("cadences.toml")
EXPECTED = (
    "a cadence looks like 'first 4w, every 6w' or 'first 2w, every 6w until 1y, then every 3m' "
    "(d = days, w = weeks, m = calendar months, y = years)"
)
_DURATION = re.compile(r"^\s*(\d+)\s*([dwmy])\s*$", re.IGNORECASE)
_FIRST = re.compile(r"^\s*first\s+(\S+)\s*$", re.IGNORECASE)
_EVERY = re.compile(r"^\s*(?:then\s+)?every\s+(\w+)(?:\s+until\s+(\w+))?\s*$", re.IGNORECASE)
_TABLE_KEYS = frozenset({"schedule", "description_da", "description_en", "source"})
# Only used to check that phase ends increase; real dates use calendar arithmetic.
_DAYS_PER_MONTH = 365.2425 / 12


class BadCadence(ValueError):
    """A cadence that cannot be read; the message shows the expected form."""


@dataclass(frozen=True)
class Duration:
    """A whole number of days, weeks, calendar months or years, kept in the unit it was given."""

    count: int
    unit: Unit

    @property
    def months(self) -> int:
        """Calendar months in this duration (0 for days and weeks)."""
        return {"m": 1, "y": 12}.get(self.unit, 0) * self.count

    @property
    def days(self) -> int:
        """Days in this duration (0 for months and years)."""
        return {"d": 1, "w": 7}.get(self.unit, 0) * self.count

    def approx_days(self) -> float:
        """Rough length in days, for ordering phase ends only."""
        return self.days + self.months * _DAYS_PER_MONTH

    def __str__(self) -> str:
        return f"{self.count}{self.unit}"


@dataclass(frozen=True)
class Phase:
    """Follow-ups every `every`, while they fall before `until` after opening (None: forever)."""

    every: Duration
    until: Duration | None = None


@dataclass(frozen=True)
class Cadence:
    """First follow-up `first` after opening, then the phases in order; the last never ends."""

    name: str
    first: Duration
    phases: tuple[Phase, ...]
    description_da: str = ""
    description_en: str = ""
    source: str = ""

    def __post_init__(self) -> None:
        # Checked here rather than in the parser so every Cadence, however built, terminates.
        if not self.phases:
            raise BadCadence(f"a cadence needs at least one 'every' phase; {EXPECTED}")
        durations = [self.first] + [p.every for p in self.phases]
        durations += [p.until for p in self.phases if p.until is not None]
        if any(d.count <= 0 for d in durations):
            raise BadCadence(f"durations must be at least 1; {EXPECTED}")
        *bounded, last = self.phases
        if last.until is not None:
            raise BadCadence(f"the last phase must not have 'until'; {EXPECTED}")
        if any(p.until is None for p in bounded):
            raise BadCadence(f"every phase but the last needs 'until'; {EXPECTED}")
        ends = [cast(Duration, p.until).approx_days() for p in bounded]
        if any(a >= b for a, b in zip(ends, ends[1:], strict=False)):
            raise BadCadence(f"'until' must grow from phase to phase; {EXPECTED}")

    @property
    def spec(self) -> str:
        """The cadence in override syntax, e.g. `first 2w, every 6w until 1y, then every 3m`."""
        parts = [f"first {self.first}"]
        for i, phase in enumerate(self.phases):
            until = f" until {phase.until}" if phase.until else ""
            parts.append(f"{'then ' if i else ''}every {phase.every}{until}")
        return ", ".join(parts)


@dataclass(frozen=True)
class _Point:
    """`months` calendar months after `base`: month steps are kept apart from day steps so
    that a 31st clamped to the 28th in February is back on the 31st in March."""

    base: date
    months: int = 0

    def day(self) -> date:
        return add_months(self.base, self.months)

    def plus(self, step: Duration, times: int = 1) -> _Point:
        if step.months:
            return _Point(self.base, self.months + step.months * times)
        return _Point(self.day() + timedelta(days=step.days * times))


def add_months(day: date, months: int) -> date:
    """`day` moved by whole calendar months, clamped to the end of a shorter month."""
    year, month0 = divmod(day.year * 12 + day.month - 1 + months, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(day.day, last))


def parse_duration(text: str) -> Duration:
    """`10d`, `6w`, `3m` or `1y`; raises BadCadence otherwise."""
    match = _DURATION.match(text)
    if not match or int(match[1]) == 0:
        raise BadCadence(f"{text.strip()!r} is not a duration like 10d, 6w, 3m or 1y; {EXPECTED}")
    return Duration(int(match[1]), cast(Unit, match[2].lower()))


def parse_override(text: str, name: str = "override") -> Cadence:
    """A per-case cadence such as `first 4w, every 6w`; BadCadence shows the expected form."""
    clauses = text.split(",")
    first = _FIRST.match(clauses[0])
    if not first:
        raise BadCadence(f"a cadence starts with 'first <duration>', got {text!r}; {EXPECTED}")
    phases: list[Phase] = []
    for clause in clauses[1:]:
        every = _EVERY.match(clause)
        if not every:
            raise BadCadence(f"cannot read {clause.strip()!r} in {text!r}; {EXPECTED}")
        until = parse_duration(every[2]) if every[2] else None
        phases.append(Phase(parse_duration(every[1]), until))
    if not phases:
        raise BadCadence(f"a cadence needs 'every <duration>' after the first, got {text!r}; "
                         f"{EXPECTED}")
    return Cadence(name, parse_duration(first[1]), tuple(phases))


def load_cadences(path: Path | None = None) -> dict[str, Cadence]:
    """The named cadences in `path` (default: the shipped `cadences.toml`)."""
    path = path or DEFAULT_PATH
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise BadCadence(f"{path.name}: {exc}") from exc
    cadences: dict[str, Cadence] = {}
    for name, table in data.items():
        if not isinstance(table, dict) or set(table) != _TABLE_KEYS:
            raise BadCadence(f"{path.name}: [{name}] needs exactly the keys "
                             f"{', '.join(sorted(_TABLE_KEYS))}")
        if not all(isinstance(value, str) for value in table.values()):
            raise BadCadence(f"{path.name}: [{name}] values must be strings")
        try:
            parsed = parse_override(table["schedule"], name)
        except BadCadence as exc:
            raise BadCadence(f"{path.name}: [{name}] {exc}") from exc
        cadences[name] = Cadence(name, parsed.first, parsed.phases, table["description_da"],
                                 table["description_en"], table["source"])
    return cadences


def iter_followups(cadence: Cadence, opened: date) -> Iterator[date]:
    """Follow-up dates after `opened`, in order, without end.

    Each date is computed from its phase's anchor (the first follow-up, or the last one of the
    previous phase) times a whole number of steps, never by adding one step to the previous
    date, so month-end clamping does not drift. A phase with `until` covers follow-ups before
    that anniversary of the opening; the next phase steps on from its last follow-up.
    """
    last = _Point(opened).plus(cadence.first)
    yield last.day()
    for phase in cadence.phases:
        end = _Point(opened).plus(phase.until).day() if phase.until else None
        anchor = last
        steps = 1
        while True:
            point = anchor.plus(phase.every, steps)
            day = point.day()
            if end is not None and day >= end:
                break
            yield day
            last = point
            steps += 1


def followup_dates(cadence: Cadence, opened: date, until: date) -> list[date]:
    """All follow-up dates after `opened`, up to and including `until`."""
    out: list[date] = []
    for day in iter_followups(cadence, opened):
        if day > until:
            break
        out.append(day)
    return out


def next_followup(cadence: Cadence, opened: date, after: date) -> date:
    """The first follow-up date strictly after `after`."""
    for day in iter_followups(cadence, opened):
        if day > after:
            return day
    raise AssertionError("unreachable: the last phase never ends")  # pragma: no cover


def survey_date(followup: date, lead_days: int = 3) -> date:
    """The day parallel raters are asked, `lead_days` before the follow-up meeting."""
    if lead_days < 0:
        raise ValueError(f"lead_days must be 0 or more, got {lead_days}")
    return followup - timedelta(days=lead_days)
