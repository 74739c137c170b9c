"""Reading what a person typed: ratings, number words, faces, yes/no and the command words.

The rule for several answers in one message (SMS): answers are separated by spaces or
semicolons. A comma or a dot between digits is a decimal mark when it is the only one in that
group ("7,5" and "7.5" are both 7.5); a group with two or more of them is a list ("7,6,8,9" is
four answers), and so is a comma followed by a space ("7, 6, 8, 9"). So "7,6" alone is the one
answer 7.6; to give 7 and 6 write "7 6".
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Literal

from bot.flows.instruments import FACE_SCORES, ScaleType

Command = Literal["stop", "start", "start_token", "help", "back", "unsafe"]

_COMMANDS: dict[str, Command] = {
    # Twilio's own opt-out words too: it stops delivering after any of them, so Stemme must
    # hear them as STOP rather than learn of it at the next send (error 21610).
    **dict.fromkeys(
        ("stop", "stopp", "afmeld", "afmeld mig", "slut", "unsubscribe", "stopall", "stop all",
         "cancel", "quit", "end", "optout", "revoke"),
        "stop",
    ),
    **dict.fromkeys(("start", "start igen", "unstop"), "start"),
    **dict.fromkeys(("hjælp", "hjaelp", "hjalp", "hjelp", "help", "info", "?"), "help"),
    **dict.fromkeys(("tilbage", "gå tilbage", "back", "go back", "fortryd", "undo"), "back"),
    # The word the help texts name for "I need to talk to an adult" (the chat button's twin).
    **dict.fromkeys(("sos", "s.o.s", "s o s"), "unsafe"),
}
_TELEGRAM_COMMANDS: dict[str, Command] = {
    "/stop": "stop",
    "/start": "start",
    "/help": "help",
    "/hjaelp": "help",
    "/back": "back",
    "/tilbage": "back",
    "/sos": "unsafe",
}
_YES = frozenset(
    ["ja", "jo", "jep", "jeps", "jaja", "ja tak", "ja gerne", "ja da", "gerne", "selvfølgelig"]
    + ["yes", "yep", "yeah", "yup", "sure", "yes please", "ok", "okay", "okey", "y", "j"]
    + ["👍", "👌"]
)
_NO = frozenset(
    ["nej", "nej tak", "nix", "næ", "ikke nu", "no", "nope", "nah", "nay", "no thanks", "not now"]
    + ["n", "👎"]
)
_NOTHING = frozenset(
    ["-", "nej", "nej tak", "nix", "ingen", "ingenting", "intet", "ikke noget", "ved ikke"]
    + ["no", "no thanks", "nope", "nothing", "none", "skip", "spring over", "dont know"]
    + ["don't know"]
)
_SKIP_ITEM = frozenset(
    ["-", "skip", "pass", "spring over", "ved ikke", "dont know", "don't know", "vil ikke svare"]
)

NUMBER_WORDS: dict[str, int] = {
    "nul": 0, "en": 1, "én": 1, "et": 1, "to": 2, "tre": 3, "fire": 4, "fem": 5, "seks": 6,
    "syv": 7, "otte": 8, "ni": 9, "ti": 10, "elleve": 11, "tolv": 12,
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}  # fmt: skip
# Typed faces, saddest first; several emoji mean the same face.
FACE_EMOJI: dict[str, float] = {
    **dict.fromkeys("😢😭😞😩😫", FACE_SCORES[0]),
    **dict.fromkeys("🙁😕😟☹", FACE_SCORES[1]),
    **dict.fromkeys("😐😑😶", FACE_SCORES[2]),
    **dict.fromkeys("🙂😊☺", FACE_SCORES[3]),
    **dict.fromkeys("😀😃😄😁😆🥰😍🤩", FACE_SCORES[4]),
}
# Variation selectors, joiners and skin tones change how an emoji looks, not which it is.
_EMOJI_NOISE = re.compile("[\ufe0e\ufe0f\u200d\U0001f3fb-\U0001f3ff]")
_NUMBER = re.compile(r"-?[0-9]+(?:[.,][0-9]+)?", re.ASCII)
_OUT_OF_TEN = re.compile(r"(-?[0-9]+(?:[.,][0-9]+)?)\s*/\s*10", re.ASCII)
_TELEGRAM_BOT_SUFFIX = re.compile(r"^(/\w+)@\w+")


def simplify(text: str) -> str:
    """Lower case, trimmed, inner spaces single, trailing ! and . dropped."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = " ".join(text.split())
    return text.rstrip("!.") or text


def _collapse(text: str) -> str:
    return re.sub(r"(.)\1+", r"\1", text)


def parse_command(text: str) -> Command | None:
    """STOP/START/HELP/back words (either language, any case), or None."""
    simple = _TELEGRAM_BOT_SUFFIX.sub(r"\1", simplify(text))
    if simple.startswith("/"):
        head, _, rest = simple.partition(" ")
        if head == "/start" and rest:
            return "start_token"  # an invite deep link: the host's business, not the survey's
        return _TELEGRAM_COMMANDS.get(head) if not rest else None
    return _COMMANDS.get(simple)


def parse_yes_no(text: str) -> bool | None:
    """True for yes, False for no, None when the answer is neither."""
    simple = _collapse(_EMOJI_NOISE.sub("", simplify(text)).rstrip("!. "))
    if simple in {_collapse(word) for word in _YES}:
        return True
    if simple in {_collapse(word) for word in _NO}:
        return False
    return None


_WORD = re.compile(r"[^\W\d_]{2,}")


def is_words(text: str) -> bool:
    """True when text is clearly words, not a botched number: two words or more, or one
    long word ("hjælp mig", "fantastisk"; not "7x" or "godt")."""
    words = _WORD.findall(text)
    return len(words) >= 2 or any(len(word) >= 6 for word in words)


def is_nothing_to_add(text: str) -> bool:
    """True when a free-text answer means "no, nothing" ("nej", "no", "-")."""
    return _collapse(simplify(text)) in {_collapse(word) for word in _NOTHING}


@dataclass(frozen=True, slots=True)
class Ratings:
    """One or more scores, already on the 0-10 scale and rounded to one decimal."""

    scores: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class Rejected:
    """Input that is not a valid answer, with a stable code for the re-ask."""

    code: str


@dataclass(frozen=True, slots=True)
class SkipItem:
    """The person chose not to answer this item ("spring over", "ved ikke")."""


def one_decimal(value: Decimal | float) -> float:
    """Round half up to one decimal, the precision scores are stored with."""
    return float(Decimal(str(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _groups(text: str) -> list[str]:
    """Split a message into answer groups by the rule in the module docstring."""
    groups: list[str] = []
    for word in re.split(r"[\s;]+", text.replace(", ", " ")):
        word = word.strip(",.")
        if not word:
            continue
        if len(re.findall(r"[.,]", word)) >= 2:
            groups.extend(part for part in re.split(r"[.,]", word) if part)
        elif all(char in FACE_EMOJI for char in word) and len(word) > 1:
            groups.extend(word)
        else:
            groups.append(word)
    return groups


def _value(group: str, scale: ScaleType) -> Decimal | None:
    """A group as a raw number on the scale's own terms (faces: 1-5 or an emoji), or None."""
    if scale == "faces" and group in FACE_EMOJI:
        return Decimal(str(FACE_EMOJI[group]))
    if group in NUMBER_WORDS:
        return Decimal(NUMBER_WORDS[group])
    if _NUMBER.fullmatch(group):
        try:
            return Decimal(group.replace(",", "."))
        except InvalidOperation:
            return None
    return None


def parse_ratings(
    text: str, scale: ScaleType, *, several: bool = False, max_count: int = 1
) -> Ratings | Rejected | SkipItem:
    """Read one answer (or, when `several`, up to `max_count`) for a 0-10 or faces item."""
    simple = _EMOJI_NOISE.sub("", simplify(text)).strip()
    if not simple:
        return Rejected("rating:empty")
    if simple in _SKIP_ITEM:
        return SkipItem()
    out_of_ten = _OUT_OF_TEN.fullmatch(simple)
    groups = [out_of_ten.group(1)] if out_of_ten and scale == "numeric" else _groups(simple)
    is_emoji = [group in FACE_EMOJI for group in groups]
    values = [_value(group, scale) for group in groups]
    if not groups or any(value is None for value in values):
        return Rejected("rating:not_a_face" if scale == "faces" else "rating:not_a_number")
    if len(groups) > 1 and not several:
        return Rejected("rating:one_at_a_time")
    if len(groups) > max_count:
        return Rejected("rating:too_many")
    scores: list[float] = []
    for value, emoji in zip(values, is_emoji, strict=True):
        assert value is not None  # checked above; narrows the type
        if scale == "faces" and not emoji:
            if value != value.to_integral_value() or not 1 <= value <= len(FACE_SCORES):
                return Rejected("rating:out_of_range")
            scores.append(FACE_SCORES[int(value) - 1])
        elif not 0 <= value <= 10:
            return Rejected("rating:out_of_range")
        else:
            scores.append(one_decimal(value))
    return Ratings(tuple(scores))


def parse_button_score(data: str, scale: ScaleType) -> float | None:
    """The score in button data "v:<score>", if it is one this scale offers."""
    if not data.startswith("v:"):
        return None
    try:
        value = Decimal(data[2:])
    except InvalidOperation:
        return None
    if not value.is_finite():
        return None
    if scale == "faces":
        return float(value) if float(value) in FACE_SCORES else None
    return one_decimal(value) if 0 <= value <= 10 else None
