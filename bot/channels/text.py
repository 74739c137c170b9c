"""Splitting long chat messages (SMS segment counting lives in bot/flows/gsm7.py)."""

from __future__ import annotations

# Where a long text may be cut, best first. Each entry is (separator, keep): `keep` characters
# of the separator stay with the first part (the full stop stays with its sentence).
_CUTS: tuple[tuple[str, int], ...] = (
    ("\n\n", 0),
    ("\n", 0),
    (". ", 1),
    ("! ", 1),
    ("? ", 1),
    ("; ", 1),
    (", ", 1),
    (" ", 0),
)


def utf16_length(text: str) -> int:
    """Length in UTF-16 code units, the unit Telegram counts in (an emoji counts twice)."""
    return len(text.encode("utf-16-le")) // 2


def _longest_prefix(text: str, limit: int) -> int:
    """The number of characters of `text` that fit in `limit` UTF-16 code units."""
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return index
    return len(text)


def _cut_at(window: str) -> int:
    """Where to cut a window that is too long: the last good boundary in its second half."""
    floor = len(window) // 2  # a cut earlier than this makes many tiny messages
    for separator, keep in _CUTS:
        at = window.rfind(separator)
        if at >= floor and at > 0:
            return at + keep
    return len(window)


def split_text(text: str, limit: int = 4096) -> list[str]:
    """Split `text` into parts of at most `limit` UTF-16 units at paragraph/sentence bounds."""
    if limit < 2:
        raise ValueError("limit must be at least 2")
    parts: list[str] = []
    rest = text.strip()
    while utf16_length(rest) > limit:
        window = rest[: _longest_prefix(rest, limit)]
        cut = _cut_at(window)
        head = rest[:cut].rstrip()
        if not head:  # only whitespace before the cut: fall back to a hard cut
            cut = len(window)
            head = rest[:cut]
        parts.append(head)
        rest = rest[cut:].lstrip()
    if rest or not parts:
        parts.append(rest)
    return parts
