"""An organisation's rules file overrides DOMAIN.md's defaults; mistakes are named."""

from __future__ import annotations

from pathlib import Path

import pytest

from reports.rules import DEFAULT_RULES, AgeBand, RulesError, load_rules, rules_in_force


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_are_the_domain_table() -> None:
    r = DEFAULT_RULES
    assert [(b.min_age, b.cutoff, b.reliable_change) for b in r.age_bands] == [
        (0, 32, 6),
        (6, 32, 6),
        (13, 28, 5),
        (18, 25, 5),
    ]
    assert (r.session_alert_below, r.session_drop, r.not_on_track_by_rating) == (36, 1, 3)
    assert (r.divergence_factor, r.missing_in_a_row, r.safety_response_hours) == (2, 2, 24)


def test_a_rules_file_overrides_only_what_it_names(tmp_path: Path) -> None:
    rules = load_rules(_write(tmp_path, "session_alert_below = 34\nmissing_in_a_row = 3\n"))
    assert (rules.session_alert_below, rules.missing_in_a_row) == (34.0, 3)
    assert rules.age_bands == DEFAULT_RULES.age_bands


def test_age_bands_come_as_array_of_tables_in_any_order(tmp_path: Path) -> None:
    text = """
[[age_bands]]
name = "youth"
min_age = 13
cutoff = 28
reliable_change = 5

[[age_bands]]
name = "child"
min_age = 0
cutoff = 30
reliable_change = 6
"""
    rules = load_rules(_write(tmp_path, text))
    assert rules.age_bands == (AgeBand("child", 0, 30.0, 6.0), AgeBand("youth", 13, 28.0, 5.0))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sesion_alert_below = 34", "unknown rule key"),
        ("session_alert_below = 'low'", "must be a number"),
        ("missing_in_a_row = 2.5", "whole number"),
        ("session_drop = true", "must be a number"),
        ("timezone = 'Mars/Olympus'", "not a known time zone"),
        ("[[age_bands]]\nname='x'\nmin_age=6\ncutoff=1\nreliable_change=1", "min_age = 0"),
        ("[[age_bands]]\nname='x'\nmin_age=0\ncutoff=1", "needs reliable_change"),
        ("max_missing_items = 4", "max_missing_items < items_per_scale"),
        ("not valid toml =", "rules.toml"),
    ],
)
def test_mistakes_in_a_rules_file_are_named(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(RulesError, match=message):
        load_rules(_write(tmp_path, text))


def test_the_rules_in_force_say_which_came_from_the_file(tmp_path: Path) -> None:
    shipped = rules_in_force(None)
    in_force = rules_in_force(_write(tmp_path, "session_drop = 2\n"))

    assert shipped.rules == DEFAULT_RULES and shipped.path is None
    assert shipped.source("session_drop") == "default"
    assert in_force.rules.session_drop == 2.0 and in_force.path == tmp_path / "rules.toml"
    assert (in_force.source("session_drop"), in_force.source("age_bands")) == (
        "file", "default")
    with pytest.raises(RulesError, match="cannot be read"):
        rules_in_force(tmp_path / "missing.toml")
