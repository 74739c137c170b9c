"""SMS size: which encoding a text needs (GSM-7 or UCS-2) and how many segments it costs."""

from __future__ import annotations

from typing import Literal

Encoding = Literal["GSM-7", "UCS-2"]

# GSM 03.38 default alphabet (ÆØÅæøå are in it) and the extension table, whose characters
# are sent as ESC + char and so cost two septets each.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")
_GSM7_ALL = GSM7_BASIC | GSM7_EXTENDED


def is_gsm7(text: str) -> bool:
    """True when every character of `text` can be sent in the GSM-7 alphabet."""
    return _GSM7_ALL.issuperset(text)


def _count(costs: list[int], single: int, multi: int) -> int:
    """Segments for units whose costs must not be split across two segments."""
    total = sum(costs)
    if total == 0:
        return 0
    if total <= single:
        return 1
    # A concatenated SMS never splits an escape pair or a surrogate pair, so a segment may end
    # one unit short: fill greedily rather than dividing.
    segments, used = 1, 0
    for cost in costs:
        if used + cost > multi:
            segments += 1
            used = 0
        used += cost
    return segments


def segments(text: str) -> tuple[Encoding, int]:
    """The encoding an SMS body needs and its segment count (160/153 GSM-7, 70/67 UCS-2)."""
    if is_gsm7(text):
        extended = sum(text.count(c) for c in GSM7_EXTENDED)
        if len(text) + extended <= 160:  # the usual case: one segment, no need to place pairs
            return "GSM-7", 1 if text else 0
        if not extended:  # no pairs to keep together: full segments of 153
            return "GSM-7", -(-len(text) // 153)
        return "GSM-7", _count([2 if c in GSM7_EXTENDED else 1 for c in text], 160, 153)
    if max(text) <= "\uffff":  # no surrogate pairs to keep together: 70, or 67 each
        return "UCS-2", 1 if len(text) <= 70 else -(-len(text) // 67)
    return "UCS-2", _count([2 if ord(c) > 0xFFFF else 1 for c in text], 70, 67)
