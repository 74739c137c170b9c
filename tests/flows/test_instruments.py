"""The shipped instruments: complete in both languages, the agreed ids, scales and versions."""

from __future__ import annotations

import pytest

from bot.flows.instruments import FACE_SCORES, InstrumentError, load_instruments, parse_instrument

OUTCOME = ("outcome-young-child", "outcome-child", "outcome-youth", "outcome-adult")
SESSION = ("session-young-child", "session-child", "session-youth", "session-adult")


def test_every_suggested_instrument_ships_at_version_1() -> None:
    instruments = load_instruments()

    assert set(instruments) == {*OUTCOME, "outcome-observer", *SESSION, "goal"}
    assert {instrument.version for instrument in instruments.values()} == {"1"}


@pytest.mark.parametrize("instrument_id", [*OUTCOME, "outcome-observer"])
def test_outcome_instruments_ask_the_four_domains(instrument_id: str) -> None:
    instrument = load_instruments()[instrument_id]

    assert instrument.kind == "outcome"
    assert [item.id for item in instrument.items] == ["me", "family", "school", "overall"]


@pytest.mark.parametrize("instrument_id", SESSION)
def test_session_instruments_ask_the_four_session_items(instrument_id: str) -> None:
    instrument = load_instruments()[instrument_id]

    assert instrument.kind == "session"
    assert [item.id for item in instrument.items] == ["heard", "topics", "approach", "overall"]


def test_under_sixes_use_five_faces_scored_0_to_10() -> None:
    instruments = load_instruments()

    for instrument_id in ("outcome-young-child", "session-young-child"):
        scale = instruments[instrument_id].scale
        assert scale.type == "faces"
        assert scale.values == FACE_SCORES == (0.0, 2.5, 5.0, 7.5, 10.0)
        assert len(scale.emoji) == 5


def test_observers_are_asked_about_the_child_by_placeholder() -> None:
    observer = load_instruments()["outcome-observer"]

    for language in ("da", "en"):
        for item in observer.items:
            assert "{child}" in item.text[language]["question"]


def test_an_instrument_without_english_text_is_refused() -> None:
    data = {
        "id": "x",
        "version": "1",
        "kind": "outcome",
        "age_band": "6-12",
        "rater": "self",
        "scale": {"type": "numeric", "min": 0, "max": 10},
        "text": {"da": {"low": "lav", "high": "høj"}},
        "items": [{"id": "me", "domain": "d", "text": {"da": {"question": "?", "short": "s"}}}],
    }

    with pytest.raises(InstrumentError):
        parse_instrument(data)


def test_a_scale_other_than_0_to_10_is_refused() -> None:
    data = {
        "id": "x",
        "version": "1",
        "kind": "outcome",
        "age_band": "6-12",
        "rater": "self",
        "scale": {"type": "numeric", "min": 1, "max": 7},
        "items": [],
    }

    with pytest.raises(InstrumentError):
        parse_instrument(data)
