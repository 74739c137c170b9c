"""SMS sizes: GSM-7 versus UCS-2 and the segment count."""

from __future__ import annotations

import pytest

from bot.flows.gsm7 import segments


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ("GSM-7", 0)),
        ("Hej", ("GSM-7", 1)),
        ("æøåÆØÅ" * 26 + "abcd", ("GSM-7", 1)),  # 160 characters, Danish letters included
        ("a" * 161, ("GSM-7", 2)),
        ("a" * 306, ("GSM-7", 2)),
        ("a" * 307, ("GSM-7", 3)),
        ("€" * 80, ("GSM-7", 1)),  # extension characters cost two septets
        ("€" * 81, ("GSM-7", 2)),
        ("a" * 159 + "€", ("GSM-7", 2)),
        ("a" * 152 + "€" + "a" * 152, ("GSM-7", 3)),  # an escape pair is never split
        ("Hej 😀", ("UCS-2", 1)),
        ("ä" * 70 + "–", ("UCS-2", 2)),  # an en dash is not GSM-7
        ("😀" * 35, ("UCS-2", 1)),  # each emoji is two UTF-16 units
        ("😀" * 36, ("UCS-2", 2)),
    ],
)
def test_segments_follow_gsm_03_38(text: str, expected: tuple[str, int]) -> None:
    assert segments(text) == expected
