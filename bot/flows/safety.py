"""The risk lexicon: finds words that suggest a child may be at risk, and the category.

A term matches when one of its patterns occurs in the folded words (`normalise.fold`) and
none of its `unless` patterns (everyday contexts: "i fifa", "af grin") occurs close by, nor
any of its category's `unless_anywhere` patterns (a joke, a lesson at school) anywhere in the
message. Scanning tries only the patterns whose rarest group has a word in the message. The
message is read four ways: as written, with run-together words split ("gidderikkeleve"),
with split words joined ("selv mord"), and with another person's "sig selv"/"her own life" read
as the writer's (a parent or teacher writing about the child); a hit in any reading counts.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from bot.flows.lexicon_index import WordIndex
from bot.flows.normalise import as_first_person, fold, split_compound

__all__ = ["CATEGORIES", "Hit", "Lexicon", "fold", "load_lexicon"]

LEXICON_PATH = Path(__file__).parent / "risk_lexicon.toml"
GAP = 4  # how many words "..." may skip in a pattern
UNLESS_GAP = 3  # and in an `unless` context: a wide one cancels too much ("drikker ... ike")
FUZZY_MIN = 6  # shorter words match exactly: one edit turns too many short words into others
WINDOW = 4  # how many words before a match an `unless` pattern is looked for in
WINDOW_AFTER = 6  # and after it: the everyday reason often follows ("... og siger godnat")
END = "$"  # a pattern word that matches the end of the message

# CONTRACT.md's ids, most serious first: the reply speaks to the first one found.
CATEGORIES = ("suicide", "self_harm", "sexual_abuse", "violence", "threats", "forced_control",
              "neglect", "parent_substance", "leave_home", "asked_for_help")


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


@dataclass(frozen=True, slots=True, eq=False)
class _Word:
    """One word of a pattern: alternatives, each exact or a prefix. Words of `unless`
    contexts are not `fuzzy`: a misspelt everyday word must not cancel a real match."""

    exact: frozenset[str]
    prefixes: tuple[str, ...]
    fuzzy: bool

    def matches(self, token: str) -> bool:
        """Whether `token` is this word (the definition `WordIndex` must agree with)."""
        if token in self.exact or any(token.startswith(p) for p in self.prefixes):
            return True
        if not self.fuzzy or len(token) < FUZZY_MIN - 1:
            return False
        if any(len(e) >= FUZZY_MIN and _one_edit(token, e) for e in self.exact):
            return True
        return any(
            len(p) >= FUZZY_MIN and _one_edit(token[:n], p)
            for p in self.prefixes
            for n in (len(p) - 1, len(p), len(p) + 1)
        )


_Phrase = tuple[_Word, ...]  # words that follow each other


@dataclass(frozen=True, slots=True)
class _Group:
    """Alternative phrases for one place in a pattern, and how many words may come before."""

    phrases: tuple[_Phrase, ...]
    gap_before: int
    needs: tuple[frozenset[int], ...]  # per phrase: the ids of its words
    first: frozenset[int]  # the ids of the phrases' first words: a quick "nothing starts here"

    def ends(self, hits: list[frozenset[int]], at: int) -> list[int]:
        """Where each of the phrases that start at token `at` ends."""
        if self.first.isdisjoint(hits[at]):
            return []
        found = []
        for phrase in self.phrases:
            end = at + len(phrase)
            if end <= len(hits) and all(id(word) in hits[at + k]
                                        for k, word in enumerate(phrase)):
                found.append(end)
        return found


@dataclass(frozen=True, slots=True)
class _Pattern:
    groups: tuple[_Group, ...]
    at_end: bool  # the last group must end the message
    not_followed_by: frozenset[str]

    def _end_from(self, tokens: list[str], hits: list[frozenset[int]], index: int, at: int) -> int:
        """Where a match of groups[index:] starting at or after `at` ends, or -1."""
        if index == len(self.groups):
            if self.at_end and at != len(tokens):
                return -1
            ok = at >= len(tokens) or tokens[at] not in self.not_followed_by
            return at if ok else -1
        group = self.groups[index]
        last = at + (group.gap_before if index else 0)
        for position in range(at, min(last, len(tokens) - 1) + 1):
            for end in group.ends(hits, position):
                found = self._end_from(tokens, hits, index + 1, end)
                if found >= 0:
                    return found
        return -1

    def spans(self, tokens: list[str], hits: list[frozenset[int]],
              present: set[int]) -> list[tuple[int, int]]:
        """Every (start, end) where the pattern occurs; `hits[i]`: the words token i is."""
        if not all(any(ids <= present for ids in group.needs) for group in self.groups):
            return []  # some place no phrase can fill: most patterns end here
        found = []
        for start in range(len(tokens)):
            end = self._end_from(tokens, hits, 0, start)
            if end >= 0:
                found.append((start, end))
        return found


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
    unless: tuple[_Pattern, ...]  # near the match
    unless_anywhere: tuple[_Pattern, ...]  # anywhere in the message


def _plain(raw: str, macros: dict[str, str]) -> tuple[set[str], list[str]]:
    """The exact words and prefixes of one word written with "|": macros give their
    one-word alternatives (a phrase in a macro needs the macro to stand alone)."""
    exact: set[str] = set()
    prefixes: list[str] = []
    for alternative in raw.split("|"):
        if alternative.startswith("@"):
            for phrase in macros[alternative[1:]].split("|"):
                if " " not in phrase.strip():
                    more_exact, more_prefixes = _plain(phrase.strip(), macros)
                    exact |= more_exact
                    prefixes.extend(more_prefixes)
            continue
        folded = "".join(fold(alternative.rstrip("*")))
        if alternative.endswith("*"):
            prefixes.append(folded)
        elif folded:
            exact.add(folded)
    return exact, prefixes


def _phrases(raw: str, macros: dict[str, str]) -> list[list[str]]:
    """The phrases of a group, each a list of words; a phrase that is a macro gives its own."""
    phrases: list[list[str]] = []
    for phrase in raw.split("|"):
        words = phrase.split()
        if len(words) == 1 and words[0].startswith("@"):
            phrases.extend(_phrases(macros[words[0][1:]], macros))
        elif words:
            phrases.append(words)
    return phrases


def _compile_group(raw: str, gap: int, macros: dict[str, str], fuzzy: bool) -> _Group:
    single: list[str] = []
    phrases: list[_Phrase] = []
    for words in _phrases(raw, macros):
        if len(words) == 1:
            single.append(words[0])
        else:
            phrases.append(tuple(_Word(frozenset(e), tuple(p), fuzzy)
                                 for e, p in (_plain(word, macros) for word in words)))
    if single:  # the one-word alternatives as one word: one look-up for them all
        exact, prefixes = _plain("|".join(single), macros)
        phrases.insert(0, (_Word(frozenset(exact), tuple(prefixes), fuzzy),))
    needs = tuple(frozenset(id(word) for word in phrase) for phrase in phrases)
    return _Group(tuple(phrases), gap, needs, frozenset(id(phrase[0]) for phrase in phrases))


_JOINS = re.compile(r" (\.\.\.|\+) ")


def _compile(pattern: str, not_followed_by: list[str], macros: dict[str, str],
             fuzzy: bool = True, gap: int = GAP) -> _Pattern:
    """A pattern: groups joined by " ... " (up to `gap` words between) or " + " (adjacent);
    a group is phrases joined by "|"; a final " $" ties the match to the message's end."""
    text = pattern.strip()
    at_end = text.endswith(" " + END)
    if at_end:
        text = text[: -len(END) - 1]
    parts = _JOINS.split(text)
    groups = [_compile_group(parts[0], 0, macros, fuzzy)]
    for join, raw in zip(parts[1::2], parts[2::2], strict=True):
        groups.append(_compile_group(raw, gap if join == "..." else 0, macros, fuzzy))
    stops = frozenset(word for stop in not_followed_by for word in fold(stop))
    return _Pattern(tuple(groups), at_end, stops)


class _Index:
    """`WordIndex` for fuzzy and for exact-only words: which words a token is."""

    def __init__(self, words: list[_Word]) -> None:
        self._fuzzy = WordIndex([w for w in words if w.fuzzy], fuzzy_min=FUZZY_MIN)
        self._strict = WordIndex([w for w in words if not w.fuzzy], fuzzy_min=10_000)

    def words_matching(self, token: str) -> set[int]:
        """Ids of the words that `word.matches(token)` accepts."""
        return self._fuzzy.words_matching(token) | self._strict.words_matching(token)


def _anchor(pattern: _Pattern) -> _Group:
    """The group a scan looks for first: the one whose words are least common (longest)."""
    def rarity(group: _Group) -> int:
        return min((min((len(t) for t in (*phrase[0].exact, *phrase[0].prefixes)), default=0)
                    + 2 * (len(phrase) - 1)) for phrase in group.phrases)
    return max(pattern.groups, key=rarity)


class Lexicon:
    """A compiled risk lexicon; `scan` returns at most one hit per category."""

    def __init__(self, terms: tuple[_Term, ...]) -> None:
        self._terms = terms
        words = [word for term in terms
                 for pattern in (*term.patterns, *term.unless, *term.unless_anywhere)
                 for group in pattern.groups for phrase in group.phrases for word in phrase]
        # Whether any word of the lexicon is a number; if none is, numbers alone never match.
        self._digits = any(
            any(ch.isdigit() for text in (*word.exact, *word.prefixes) for ch in text)
            for word in words)
        self._index = _Index(words)
        self._vocabulary = frozenset(text for word in words for text in word.exact)
        # token -> its word ids and anchored patterns, kept across messages
        self._seen: dict[str, tuple[frozenset[int], frozenset[tuple[int, int]]]] = {}
        # word id -> (term, pattern) numbers whose anchor group that word can start: a scan
        # tries only the patterns one of whose anchors is in the message.
        self._anchors: dict[int, list[tuple[int, int]]] = {}
        for number, term in enumerate(terms):
            for which, pattern in enumerate(term.patterns):
                for phrase in _anchor(pattern).phrases:
                    self._anchors.setdefault(id(phrase[0]), []).append((number, which))

    @classmethod
    def from_toml(cls, text: str) -> Lexicon:
        """Compile a lexicon from the text of a TOML file (see risk_lexicon.toml)."""
        data = tomllib.loads(text)
        macros = {str(k): str(v) for k, v in data.get("macros", {}).items()}
        anywhere = {str(k): list(v) for k, v in data.get("unless_anywhere", {}).items()}
        terms = []
        for entry in data.get("terms", []):
            category = str(entry["category"])
            stops = list(entry.get("not_followed_by", []))
            terms.append(_Term(
                category=category, term=str(entry["term"]),
                patterns=tuple(_compile(str(p), stops, macros) for p in entry["patterns"]),
                unless=tuple(_compile(str(p), [], macros, fuzzy=False, gap=UNLESS_GAP)
                             for p in entry.get("unless", [])),
                unless_anywhere=tuple(_compile(str(p), [], macros, fuzzy=False, gap=UNLESS_GAP)
                                      for p in anywhere.get(category, []))))
        return cls(tuple(terms))

    @property
    def categories(self) -> tuple[str, ...]:
        """The categories this lexicon can report, in file order."""
        return tuple(dict.fromkeys(term.category for term in self._terms))

    def _known(self, piece: str) -> bool:
        return piece in self._vocabulary

    def readings(self, text: str) -> list[list[str]]:
        """The folded words of `text`, and its readings with compounds split or joined, and
        with someone else's "sig selv"/"her life" read as the writer's own."""
        tokens = fold(text)
        readings = [tokens]
        split = [piece for token in tokens for piece in (
            split_compound(token, self._known) if len(token) >= 7
            and not self._matching(token) else [token])]
        if split != tokens:
            readings.append(split)
        joined: list[str] = []
        index = 0
        while index < len(tokens):
            pair = "".join(tokens[index:index + 2])
            if index + 1 < len(tokens) and pair in self._vocabulary:
                joined.append(pair)
                index += 2
            else:
                joined.append(tokens[index])
                index += 1
        if joined != tokens:
            readings.append(joined)
        reported = as_first_person(tokens)
        if reported != tokens:
            readings.append(reported)
        return readings

    def scan(self, text: str) -> tuple[Hit, ...]:
        """Every category whose terms match `text`, each with the first term that matched,
        most serious category first."""
        hits: dict[str, Hit] = {}
        for tokens in self.readings(text):
            self._scan_reading(tokens, hits)
        order = {category: rank for rank, category in enumerate(CATEGORIES)}
        return tuple(sorted(hits.values(), key=lambda hit: order.get(hit.category, 99)))

    def _matching(self, token: str) -> frozenset[int]:
        """The ids of the lexicon words `token` is, remembered across messages."""
        return self._lookup(token)[0]

    def _lookup(self, token: str) -> tuple[frozenset[int], frozenset[tuple[int, int]]]:
        """The words `token` is, and the (term, pattern) numbers it is an anchor of."""
        found = self._seen.get(token)
        if found is None:
            if len(self._seen) > 50_000:
                self._seen.clear()
            ids = frozenset(self._index.words_matching(token))
            pairs = frozenset(pair for key in ids for pair in self._anchors.get(key, ()))
            found = self._seen[token] = (ids, pairs)
        return found

    def _scan_reading(self, tokens: list[str], hits: dict[str, Hit]) -> None:
        if all(token.isdigit() for token in tokens) and not self._digits:
            return  # a rating such as "7" or "7 6 8 9": nothing to look for
        # Which words each token matches, worked out once per reading.
        looked_up = [self._lookup(token) for token in tokens]
        matched = [ids for ids, _ in looked_up]
        present: set[int] = set().union(*matched)
        if not present:
            return  # every pattern needs at least one word matched
        candidates = sorted(set().union(*(pairs for _, pairs in looked_up)))
        everyday: dict[str, bool] = {}  # category -> an `unless_anywhere` context is here
        for number, which in candidates:
            term = self._terms[number]
            if term.category in hits:
                continue
            spans = term.patterns[which].spans(tokens, matched, present)
            if not any(not self._cancelled(term, tokens, matched, present, span)
                       for span in spans):
                continue
            if term.category not in everyday:  # "haha", "we learned about it in class"
                everyday[term.category] = any(p.spans(tokens, matched, present)
                                              for p in term.unless_anywhere)
            if not everyday[term.category]:
                hits[term.category] = Hit(term.category, term.term)

    @staticmethod
    def _cancelled(term: _Term, tokens: list[str], matched: list[frozenset[int]],
                   present: set[int], span: tuple[int, int]) -> bool:
        """Whether an everyday context (`unless`) stands near the match: within WINDOW
        words before it or WINDOW_AFTER words after it."""
        if not term.unless:
            return False
        low, high = max(0, span[0] - WINDOW), min(len(tokens), span[1] + WINDOW_AFTER)
        window, window_hits = tokens[low:high], matched[low:high]
        return any(pattern.spans(window, window_hits, present) for pattern in term.unless)


@lru_cache(maxsize=4)
def load_lexicon(path: Path | None = None) -> Lexicon:
    """The lexicon in `path`, or the shipped one; cached per path."""
    return Lexicon.from_toml((path or LEXICON_PATH).read_text(encoding="utf-8"))
