"""SMS sizes: GSM-7 versus UCS-2 and the segment count."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


def _placed(costs: list[int], single: int, multi: int) -> int:
    """Segments by placing each unit in turn: the definition the shortcuts must agree with."""
    if sum(costs) <= single:
        return 1 if costs else 0
    segments_, used = 1, 0
    for cost in costs:
        if used + cost > multi:
            segments_, used = segments_ + 1, 0
        used += cost
    return segments_


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from("aæ€ä–😀 "), max_size=400))
def test_segment_counts_match_placing_each_character(text: str) -> None:
    encoding, count = segments(text)
    if encoding == "GSM-7":
        assert count == _placed([2 if c == "€" else 1 for c in text], 160, 153)
    else:
        assert count == _placed([2 if ord(c) > 0xFFFF else 1 for c in text], 70, 67)
