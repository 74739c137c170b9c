"""The scoring rules' numbers, with DOMAIN.md's defaults, loadable per organisation from TOML."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields, replace
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo


class RulesError(ValueError):
    """A rules file is wrong; the message names the key and what was expected."""


@dataclass(frozen=True, slots=True)
class AgeBand:
    """Cutoff and reliable change for children from `min_age` (full years) up to the next band.

    Sources: clinical cutoffs 25 (18+), 28 (13-17), 32 (6-12) from Miller et al. 2003 and
    Duncan et al. 2006; reliable change 5 points, 6 for children (same sources).
    """

    name: str
    min_age: int
    cutoff: float
    reliable_change: float


DEFAULT_BANDS: tuple[AgeBand, ...] = (
    # Under 6 the faces version is used and a parent or pedagogue usually rates too; the
    # sources give no own numbers, so the children's numbers apply (organisations may override).
    AgeBand("young_child", 0, 32.0, 6.0),
    AgeBand("child", 6, 32.0, 6.0),
    AgeBand("youth", 13, 28.0, 5.0),
    AgeBand("adult", 18, 25.0, 5.0),
)


@dataclass(frozen=True, slots=True)
class ScoringRules:
    """Every number the alert rules use; defaults are DOMAIN.md's table."""

    age_bands: tuple[AgeBand, ...] = DEFAULT_BANDS
    # Items per outcome/session scale (four items scored 0-10, total 0-40).
    items_per_scale: int = 4
    # Items that may be missing and still give a total (prorated); 0 = only complete surveys
    # count, as in PCOMS practice where an incomplete form is not scored.
    max_missing_items: int = 0
    # Session rating alert: total below this (PCOMS practice, OpenFIT) ...
    session_alert_below: float = 36.0
    # ... or a drop of at least this from the rater's previous session (PCOMS practice).
    session_drop: float = 1.0
    # Not on track: no reliable improvement by this rating (PCOMS practice).
    not_on_track_by_rating: int = 3
    # Rater divergence: |child - adult| >= factor x reliable change (Stemme's own rule) ...
    divergence_factor: float = 2.0
    # ... for ratings at most this many days apart ("the same period").
    divergence_window_days: int = 14
    # Missing ratings: this many prompts in a row unanswered (Greenspace practice).
    missing_in_a_row: int = 2
    # A safety concern must be assessed within this many hours (the municipality's duty).
    safety_response_hours: int = 24
    # Item answers without a survey id belong to one survey when this close to its first item.
    survey_window_hours: int = 12
    # The calendar day of a rating (for the child's age) is taken in this time zone.
    timezone: str = "Europe/Copenhagen"

    def __post_init__(self) -> None:
        # Band lookup walks the bands in age order and needs one for every age from 0.
        bands = tuple(sorted(self.age_bands, key=lambda b: b.min_age))
        if not bands or bands[0].min_age != 0:
            raise RulesError("age_bands must start at min_age = 0 so every age has a band")
        object.__setattr__(self, "age_bands", bands)

    @property
    def tz(self) -> ZoneInfo:
        """The time zone as a ZoneInfo."""
        return _zone(self.timezone)

    @property
    def survey_window(self) -> timedelta:
        """The survey window as a timedelta."""
        return timedelta(hours=self.survey_window_hours)

    @property
    def divergence_window(self) -> timedelta:
        """The divergence window as a timedelta."""
        return timedelta(days=self.divergence_window_days)


DEFAULT_RULES = ScoringRules()


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


_INTS = {
    "items_per_scale",
    "max_missing_items",
    "not_on_track_by_rating",
    "divergence_window_days",
    "missing_in_a_row",
    "safety_response_hours",
    "survey_window_hours",
}
_FLOATS = {"session_alert_below", "session_drop", "divergence_factor"}


def _number(key: str, value: Any, kind: type) -> Any:
    # bool is an int in Python; "true" for a threshold is a mistake, not 1.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RulesError(f"{key} must be a number, got {value!r}")
    if kind is int and not isinstance(value, int):
        raise RulesError(f"{key} must be a whole number, got {value!r}")
    if value < 0:
        raise RulesError(f"{key} must not be negative, got {value!r}")
    return kind(value)


def _bands(raw: Any) -> tuple[AgeBand, ...]:
    if not isinstance(raw, list) or not raw:
        raise RulesError("age_bands must be a non-empty array of tables ([[age_bands]])")
    bands = []
    for i, table in enumerate(raw):
        where = f"age_bands[{i}]"
        if not isinstance(table, dict):
            raise RulesError(f"{where} must be a table")
        unknown = set(table) - {"name", "min_age", "cutoff", "reliable_change"}
        if unknown:
            raise RulesError(f"{where}: unknown key(s) {sorted(unknown)}")
        try:
            bands.append(
                AgeBand(
                    name=str(table["name"]),
                    min_age=_number(f"{where}.min_age", table["min_age"], int),
                    cutoff=_number(f"{where}.cutoff", table["cutoff"], float),
                    reliable_change=_number(
                        f"{where}.reliable_change", table["reliable_change"], float
                    ),
                )
            )
        except KeyError as missing:
            raise RulesError(f"{where} needs {missing.args[0]}") from None
    return tuple(bands)  # ScoringRules sorts them and checks that age 0 is covered


def rules_from_mapping(data: dict[str, Any], base: ScoringRules = DEFAULT_RULES) -> ScoringRules:
    """Rules from a parsed TOML table: given keys override `base`, unknown keys are errors."""
    known = {f.name for f in fields(ScoringRules)}
    unknown = set(data) - known
    if unknown:
        raise RulesError(f"unknown rule key(s) {sorted(unknown)}; known: {sorted(known)}")
    changes: dict[str, Any] = {}
    for key, value in data.items():
        if key == "age_bands":
            changes[key] = _bands(value)
        elif key == "timezone":
            try:
                ZoneInfo(str(value))
            except (KeyError, ValueError) as exc:
                raise RulesError(f"timezone {value!r} is not a known time zone") from exc
            changes[key] = str(value)
        else:
            changes[key] = _number(key, value, int if key in _INTS else float)
    rules = replace(base, **changes)
    if rules.items_per_scale < 1 or rules.max_missing_items >= rules.items_per_scale:
        raise RulesError("need items_per_scale >= 1 and max_missing_items < items_per_scale")
    if rules.not_on_track_by_rating < 2 or rules.missing_in_a_row < 1:
        raise RulesError("need not_on_track_by_rating >= 2 and missing_in_a_row >= 1")
    return rules


def _read(path: Path | str) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"{path}: {exc}") from exc
    except OSError as exc:
        raise RulesError(f"{path} cannot be read ({exc.strerror or exc})") from exc


def load_rules(path: Path | str, base: ScoringRules = DEFAULT_RULES) -> ScoringRules:
    """Rules from an organisation's TOML file (keys as in ScoringRules; [[age_bands]] tables)."""
    return rules_from_mapping(_read(path), base)


@dataclass(frozen=True, slots=True)
class RulesInForce:
    """The rules a process uses, and where each came from (the shipped default or a file)."""

    rules: ScoringRules = DEFAULT_RULES
    path: Path | None = None  # the organisation's file (STEMME_RULES_FILE); None: none
    from_file: frozenset[str] = frozenset()  # the keys that file set

    def source(self, key: str) -> str:
        """Where `key` came from: "file" when the file set it, else "default"."""
        return "file" if key in self.from_file else "default"


def rules_in_force(path: Path | str | None) -> RulesInForce:
    """The shipped rules, or an organisation's file over them; a bad file is a RulesError."""
    if path is None:
        return RulesInForce()
    data = _read(path)
    return RulesInForce(rules_from_mapping(data), Path(path), frozenset(data))


def rule_values(rules: ScoringRules) -> list[tuple[str, Any]]:
    """Every rule as (key, value) in the order of ScoringRules; age bands as a tuple."""
    return [(f.name, getattr(rules, f.name)) for f in fields(ScoringRules)]
