"""The risk lexicon: folds a message and finds words that suggest a child may be at risk."""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from bot.flows.lexicon_index import WordIndex

LEXICON_PATH = Path(__file__).parent / "risk_lexicon.toml"
GAP = 3  # how many words "..." may skip
FUZZY_MIN = 6  # shorter words match exactly: one edit turns too many short words into others

_LETTER_MAP = str.maketrans({"æ": "a", "ø": "o", "å": "a", "'": None, "’": None, "`": None})
_NON_WORD = re.compile(r"[^a-z0-9]+")
_REPEATS = re.compile(r"(.)\1+")


def fold(text: str) -> list[str]:
    """Words of `text` folded for matching: case, æøå/ae-oe-aa, accents, repeated letters."""
    lowered = unicodedata.normalize("NFKC", text).casefold().translate(_LETTER_MAP)
    plain = "".join(
        char for char in unicodedata.normalize("NFKD", lowered) if not unicodedata.combining(char)
    )
    words = []
    for word in _NON_WORD.split(plain):
        if word:
            word = word.replace("ae", "a").replace("oe", "o")
            words.append(_REPEATS.sub(r"\1", word))
    return words


def _one_edit(a: str, b: str) -> bool:
    """True when `a` becomes `b` by one inserted or dropped letter or two swapped neighbours."""
    # Substitutions are left out on purpose: they turn "cutting" into "outing".
    if len(a) == len(b):
        diffs = [i for i in range(len(a)) if a[i] != b[i]]
        return (
            len(diffs) == 2
            and diffs[1] == diffs[0] + 1
            and a[diffs[0]] == b[diffs[1]]
            and a[diffs[1]] == b[diffs[0]]
        )
    short, long = (a, b) if len(a) < len(b) else (b, a)
    if len(long) - len(short) != 1:
        return False
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


@dataclass(frozen=True, slots=True)
class _Word:
    """One word of a pattern: alternatives, each exact or a prefix."""

    exact: frozenset[str]
    prefixes: tuple[str, ...]
    gap_before: int

    def matches(self, token: str) -> bool:
        if token in self.exact or any(token.startswith(p) for p in self.prefixes):
            return True
        if len(token) < FUZZY_MIN - 1:
            return False
        if any(len(e) >= FUZZY_MIN and _one_edit(token, e) for e in self.exact):
            return True
        return any(
            len(p) >= FUZZY_MIN and _one_edit(token[:n], p)
            for p in self.prefixes
            for n in (len(p) - 1, len(p), len(p) + 1)
        )


@dataclass(frozen=True, slots=True)
class _Pattern:
    words: tuple[_Word, ...]
    not_followed_by: frozenset[str]
    needs: frozenset[int]  # the ids of its words: all must match some token

    def _match_from(self, tokens: list[str], hits: list[set[int]], index: int,
                    at: int) -> bool:
        if index == len(self.words):
            return at >= len(tokens) or tokens[at] not in self.not_followed_by
        word = self.words[index]
        key = id(word)
        last = at + (word.gap_before if index else 0)
        for position in range(at, min(last, len(tokens) - 1) + 1):
            if key in hits[position] and self._match_from(tokens, hits, index + 1,
                                                           position + 1):
                return True
        return False

    def search(self, tokens: list[str], hits: list[set[int]], present: set[int]) -> bool:
        """Whether the pattern occurs; `hits[i]` holds the ids of the words token i matches."""
        if not self.needs <= present:
            return False  # a word no token matches: most patterns end here
        return any(self._match_from(tokens, hits, 0, start) for start in range(len(tokens)))


@dataclass(frozen=True, slots=True)
class Hit:
    """A lexicon match: the category and the lexicon's own term (never the person's words)."""

    category: str
    term: str


@dataclass(frozen=True, slots=True)
class _Term:
    category: str
    term: str
    patterns: tuple[_Pattern, ...]


def _compile_word(raw: str, gap: int, macros: dict[str, str]) -> _Word:
    exact: set[str] = set()
    prefixes: list[str] = []
    for alternative in raw.split("|"):
        if alternative.startswith("@"):
            expanded = _compile_word(macros[alternative[1:]], 0, macros)
            exact |= expanded.exact
            prefixes.extend(expanded.prefixes)
            continue
        folded = "".join(fold(alternative.rstrip("*")))
        if alternative.endswith("*"):
            prefixes.append(folded)
        else:
            exact.add(folded)
    return _Word(frozenset(exact), tuple(prefixes), gap)


def _compile(pattern: str, not_followed_by: list[str], macros: dict[str, str]) -> _Pattern:
    words: list[_Word] = []
    gap = 0
    for raw in pattern.split():
        if raw == "...":
            gap = GAP
            continue
        words.append(_compile_word(raw, gap, macros))
        gap = 0
    stops = frozenset(word for stop in not_followed_by for word in fold(stop))
    return _Pattern(tuple(words), stops, frozenset(id(word) for word in words))


class Lexicon:
    """A compiled risk lexicon; `scan` returns at most one hit per category."""

    def __init__(self, terms: tuple[_Term, ...]) -> None:
        self._terms = terms
        words = [word for term in terms for pattern in term.patterns for word in pattern.words]
        # Whether any word of the lexicon is a number; if none is, numbers alone never match.
        self._digits = any(
            any(ch.isdigit() for text in (*word.exact, *word.prefixes) for ch in text)
            for word in words)
        self._index = WordIndex(words, fuzzy_min=FUZZY_MIN)

    @classmethod
    def from_toml(cls, text: str) -> Lexicon:
        """Compile a lexicon from the text of a TOML file (see risk_lexicon.toml)."""
        data = tomllib.loads(text)
        macros = {str(k): str(v) for k, v in data.get("macros", {}).items()}
        terms = tuple(
            _Term(
                category=str(entry["category"]),
                term=str(entry["term"]),
                patterns=tuple(
                    _compile(str(p), list(entry.get("not_followed_by", [])), macros)
                    for p in entry["patterns"]
                ),
            )
            for entry in data.get("terms", [])
        )
        return cls(terms)

    @property
    def categories(self) -> tuple[str, ...]:
        """The categories this lexicon can report, in file order."""
        return tuple(dict.fromkeys(term.category for term in self._terms))

    def scan(self, text: str) -> tuple[Hit, ...]:
        """Every category whose terms match `text`, each with the first term that matched."""
        tokens = fold(text)
        hits: dict[str, Hit] = {}
        if all(token.isdigit() for token in tokens) and not self._digits:
            return ()  # a rating such as "7" or "7 6 8 9": nothing to look for
        # Which words each token matches, worked out once per scan; kept no longer than it.
        matched = [self._index.words_matching(token) for token in tokens]
        present = set().union(*matched)
        if not present:
            return ()  # every pattern needs at least one word matched
        for term in self._terms:
            if term.category in hits:
                continue
            if any(pattern.search(tokens, matched, present) for pattern in term.patterns):
                hits[term.category] = Hit(term.category, term.term)
        return tuple(hits.values())


@lru_cache(maxsize=4)
def load_lexicon(path: Path | None = None) -> Lexicon:
    """The lexicon in `path`, or the shipped one; cached per path."""
    return Lexicon.from_toml((path or LEXICON_PATH).read_text(encoding="utf-8"))
