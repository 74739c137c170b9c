"""Follow-up cadences: shipped standards, month arithmetic, overrides and survey dates."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from scheduler.cadence import (
    BadCadence,
    Cadence,
    Duration,
    Phase,
    add_months,
    followup_dates,
    load_cadences,
    next_followup,
    parse_override,
    survey_date,
)

OPENED = date(2026, 1, 5)  # a Monday

# Worked out by hand: 6w = 42 days; months are calendar months counted from the anchor.
FIRST_THREE = [
    ("law-minimum", [date(2026, 4, 5), date(2026, 10, 5), date(2027, 4, 5)]),
    ("haderslev", [date(2026, 2, 16), date(2026, 3, 30), date(2026, 5, 11)]),
    ("herning-preventive", [date(2026, 2, 2), date(2026, 5, 2), date(2026, 8, 2)]),
    ("herning-placement", [date(2026, 1, 19), date(2026, 3, 2), date(2026, 4, 13)]),
    ("hvidovre-preventive", [date(2026, 2, 16), date(2026, 5, 16), date(2026, 8, 16)]),
    ("hvidovre-intensive", [date(2026, 2, 16), date(2026, 3, 30), date(2026, 5, 11)]),
    ("hvidovre-foster", [date(2026, 2, 16), date(2026, 5, 16), date(2026, 8, 16)]),
]


@pytest.fixture(scope="module")
def shipped() -> dict[str, Cadence]:
    return load_cadences()


@pytest.mark.parametrize(("name", "expected"), FIRST_THREE, ids=[n for n, _ in FIRST_THREE])
def test_shipped_cadence_gives_first_three_followups(
    shipped: dict[str, Cadence], name: str, expected: list[date]
) -> None:
    dates = followup_dates(shipped[name], OPENED, date(2030, 1, 1))

    assert dates[:3] == expected


def test_every_shipped_cadence_is_tested_and_described(shipped: dict[str, Cadence]) -> None:
    assert set(shipped) == {name for name, _ in FIRST_THREE}
    for cadence in shipped.values():
        assert cadence.description_da and cadence.description_en and cadence.source
        assert parse_override(cadence.spec).phases == cadence.phases


def test_herning_placement_steps_every_three_months_after_the_first_year(
    shipped: dict[str, Cadence],
) -> None:
    dates = followup_dates(shipped["herning-placement"], OPENED, date(2027, 7, 1))

    # 2026-12-21 is the last 6-weekly date before the anniversary (2027-01-05); the next
    # 6-week step (2027-02-01) would fall in year two, so year two steps 3 months from it.
    assert dates[-4:] == [date(2026, 11, 9), date(2026, 12, 21), date(2027, 3, 21),
                          date(2027, 6, 21)]
    assert len(dates) == 11


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 8, 31), 6, date(2027, 2, 28)),
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2027, 1, 31), 13, date(2028, 2, 29)),
        (date(2026, 3, 31), -1, date(2026, 2, 28)),
        (date(2026, 12, 15), 1, date(2027, 1, 15)),
    ],
)
def test_add_months_clamps_to_month_end(day: date, months: int, expected: date) -> None:
    assert add_months(day, months) == expected


def test_month_steps_count_from_opening_not_from_the_clamped_date() -> None:
    cadence = parse_override("first 6m, every 6m")

    dates = followup_dates(cadence, date(2026, 8, 31), date(2028, 3, 1))

    # Adding 6 months to 2027-02-28 would give 2027-08-28; counting from opening gives the 31st.
    assert dates == [date(2027, 2, 28), date(2027, 8, 31), date(2028, 2, 29)]


def test_month_steps_after_a_week_first_follow_the_first_followups_day() -> None:
    cadence = parse_override("first 4w, every 3m")

    dates = followup_dates(cadence, date(2026, 1, 3), date(2026, 8, 1))

    assert dates == [date(2026, 1, 31), date(2026, 4, 30), date(2026, 7, 31)]


def test_followup_dates_include_until_and_exclude_opening() -> None:
    cadence = parse_override("first 1w, every 1w")

    dates = followup_dates(cadence, OPENED, date(2026, 1, 19))

    assert dates == [date(2026, 1, 12), date(2026, 1, 19)]


def test_followup_dates_before_first_is_empty() -> None:
    assert followup_dates(parse_override("first 3m, every 6m"), OPENED, OPENED) == []


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        (date(2025, 12, 1), date(2026, 2, 16)),  # before opening: the first follow-up
        (OPENED, date(2026, 2, 16)),
        (date(2026, 2, 15), date(2026, 2, 16)),
        (date(2026, 2, 16), date(2026, 3, 30)),  # strictly after
        (date(2030, 1, 1), date(2030, 1, 14)),  # 35 × 42 = 1470 days after opening
    ],
)
def test_next_followup_is_strictly_after(after: date, expected: date) -> None:
    assert next_followup(parse_override("first 6w, every 6w"), OPENED, after) == expected


def test_survey_date_is_lead_days_before_followup() -> None:
    assert survey_date(date(2026, 3, 2)) == date(2026, 2, 27)
    assert survey_date(date(2026, 3, 2), lead_days=0) == date(2026, 3, 2)


def test_survey_date_refuses_negative_lead() -> None:
    with pytest.raises(ValueError, match="lead_days"):
        survey_date(date(2026, 3, 2), lead_days=-1)


@pytest.mark.parametrize(
    ("text", "first", "phases"),
    [
        ("first 4w, every 6w", Duration(4, "w"), (Phase(Duration(6, "w")),)),
        ("  FIRST 10d,every 2W ", Duration(10, "d"), (Phase(Duration(2, "w")),)),
        ("first 1y, every 1y", Duration(1, "y"), (Phase(Duration(1, "y")),)),
        (
            "first 2w, every 6w until 1y, then every 3m",
            Duration(2, "w"),
            (Phase(Duration(6, "w"), Duration(1, "y")), Phase(Duration(3, "m"))),
        ),
        (
            "first 2w, every 1w until 2m, every 2w until 6m, then every 1m",
            Duration(2, "w"),
            (
                Phase(Duration(1, "w"), Duration(2, "m")),
                Phase(Duration(2, "w"), Duration(6, "m")),
                Phase(Duration(1, "m")),
            ),
        ),
    ],
)
def test_parse_override_reads_good_cadences(
    text: str, first: Duration, phases: tuple[Phase, ...]
) -> None:
    cadence = parse_override(text)

    assert (cadence.first, cadence.phases) == (first, phases)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "starts with 'first"),
        ("every 6w", "starts with 'first"),
        ("efter 4u, derefter hver 6u", "starts with 'first"),
        ("first 4w", "needs 'every"),
        ("first 4x, every 6w", "'4x' is not a duration"),
        ("first 0w, every 6w", "'0w' is not a duration"),
        ("first 4w, every", "cannot read 'every'"),
        ("first 4w, every 6w until 1y", "last phase must not have 'until'"),
        ("first 2w, every 6w, then every 3m", "needs 'until'"),
        ("first 2w, every 1w until 1y, every 2w until 6m, then every 1m", "must grow"),
    ],
)
def test_parse_override_rejects_bad_cadences_showing_the_form(text: str, reason: str) -> None:
    with pytest.raises(BadCadence) as caught:
        parse_override(text)

    assert reason in str(caught.value)
    assert "first 4w, every 6w" in str(caught.value)


def test_spec_round_trips_through_parse_override() -> None:
    text = "first 2w, every 6w until 1y, then every 3m"

    assert parse_override(text).spec == text


@pytest.mark.parametrize(
    ("toml", "reason"),
    [
        ('[x]\nschedule = "first 4w, every 6w"\n', "needs exactly the keys"),
        ('[x]\nschedule = "every 6w"\ndescription_da = ""\ndescription_en = ""\nsource = ""\n',
         "[x] a cadence starts with 'first"),
        ("[x\n", "cadences.toml"),
    ],
)
def test_load_cadences_names_the_bad_entry(tmp_path: Path, toml: str, reason: str) -> None:
    path = tmp_path / "cadences.toml"
    path.write_text(toml, encoding="utf-8")

    with pytest.raises(BadCadence) as caught:
        load_cadences(path)

    assert reason in str(caught.value)
