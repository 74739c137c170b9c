"""Participants' words made drawable as they were written: no markup, no missing glyphs.

matplotlib reads `$...$` as mathtext (a child's `$\\frac{1}{$` made the journal fail for
good) and warns about each character its fonts lack. The reports draw every text with
`parse_math=False` and pass words through here first: control characters become spaces,
symbols the fonts lack (most emoji) become their Unicode name in brackets, other missing
characters a white square, and right-to-left lines are shaped (Arabic letters joined) and put
in the order they are seen, since matplotlib lays out every line left to right.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import arabic_reshaper
from bidi import get_display
from matplotlib import font_manager
from matplotlib.ft2font import FT2Font

# The fonts matplotlib ships: the journal's tables in the mono face, then the wider sans face
# for whatever the mono face lacks (matplotlib falls back along the list, glyph by glyph).
FONTS = ("DejaVu Sans Mono", "DejaVu Sans")
MISSING = "\u25a1"  # WHITE SQUARE, in both fonts
_NAME_LIMIT = 40  # a symbol's name in brackets is cut to this many characters
_RTL = frozenset({"R", "AL", "RLE", "RLO", "RLI"})
# Joiners, variation selectors and skin tones shape a neighbour; drawn alone they mislead.
_INVISIBLE = frozenset(
    "\u200b\u200c\u200d\u2060\ufeff" + "".join(map(chr, range(0xFE00, 0xFE10)))
    + "".join(map(chr, range(0x1F3FB, 0x1F400)))
)


@dataclass(frozen=True, slots=True)
class Drawable:
    """A text ready for matplotlib, and whether any character had to be replaced."""

    text: str
    replaced: bool


@lru_cache(maxsize=4)
def charmap(fonts: tuple[str, ...] = FONTS) -> frozenset[int]:
    """The code points at least one of `fonts` has a glyph for."""
    points: set[int] = set()
    for family in fonts:
        path = font_manager.findfont(font_manager.FontProperties(family=family),
                                     fallback_to_default=False)
        points.update(FT2Font(path).get_charmap())
    return frozenset(points)


def _replacement(char: str, known: frozenset[int]) -> str:
    if char in _INVISIBLE or 0xE0000 <= ord(char) <= 0xE007F:
        return ""  # matplotlib does not join emoji: these would show as stray glyphs
    if ord(char) in known:
        return char
    category = unicodedata.category(char)
    if char in "\t\r\v\f" or category in ("Zl", "Zp", "Zs"):
        return " "
    if category in ("Cc", "Cf", "Mn", "Me", "Cs", "Co", "Cn"):
        # Controls, joiners, variation selectors and lone marks have nothing to show.
        return ""
    if category == "So":  # emoji and other pictures: say what it was
        name = unicodedata.name(char, "")
        if name:
            return f"[{name.lower()[:_NAME_LIMIT]}]"
    return MISSING


def literal(text: str, fonts: tuple[str, ...] = FONTS) -> Drawable:
    """`text` in logical order with only characters the fonts can draw (newlines kept).

    Call it before wrapping: replacements change the length. Then `visual` each line.
    """
    known = charmap(fonts)
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n"))
    out: list[str] = []
    replaced = False  # only a visible stand-in counts; dropped joiners and spaces do not
    for char in text:
        new = char if char == "\n" else _replacement(char, known)
        replaced = replaced or (new != char and new.strip() != "")
        out.append(new)
    return Drawable("".join(out), replaced)


def visual(line: str, fonts: tuple[str, ...] = FONTS) -> str:
    """One line as it is drawn: a line with right-to-left letters shaped and reordered.

    Shaping can ask for a joined form a font lacks; such a character becomes a white square.
    """
    if not any(unicodedata.bidirectional(c) in _RTL for c in line):
        return line
    shown = get_display(arabic_reshaper.reshape(line))
    known = charmap(fonts)
    return "".join(c if ord(c) in known or c == " " else MISSING for c in str(shown))


def drawable(text: str, fonts: tuple[str, ...] = FONTS) -> str:
    """A short text (a label, a reference) literal and in visual order, line by line."""
    return "\n".join(visual(line, fonts) for line in literal(text, fonts).text.split("\n"))
