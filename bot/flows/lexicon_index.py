"""Which lexicon words a folded token matches, found by look-ups instead of trying every word.

A scan used to ask each word of each pattern about each token: about half a millisecond for
"tak", several for a sentence, on every text message. The index answers the same question
with a few dictionary look-ups per token; `Word.matches` stays the definition it must agree
with (a property test holds the two together).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol


class Word(Protocol):
    """What the index needs of a lexicon word (`safety._Word`)."""

    @property
    def exact(self) -> frozenset[str]: ...

    @property
    def prefixes(self) -> tuple[str, ...]: ...


def _deletions(text: str) -> set[str]:
    return {text[:i] + text[i + 1:] for i in range(len(text))}


def _swaps(text: str) -> set[str]:
    """Every string that differs from `text` by two different neighbours swapped."""
    return {text[:i] + text[i + 1] + text[i] + text[i + 2:]
            for i in range(len(text) - 1) if text[i] != text[i + 1]}


class _OneEdit:
    """Targets one edit away from a query: a letter inserted or dropped, or neighbours swapped.

    The same edits as `safety._one_edit`, which leaves substitutions out on purpose.
    """

    def __init__(self) -> None:
        self._same: dict[str, set[int]] = {}  # target -> words
        self._shorter: dict[str, set[int]] = {}  # target with one letter dropped -> words

    def add(self, target: str, word: int) -> None:
        self._same.setdefault(target, set()).add(word)
        for variant in _deletions(target):
            self._shorter.setdefault(variant, set()).add(word)

    def find(self, query: str) -> set[int]:
        found: set[int] = set(self._shorter.get(query, ()))  # the target has one letter more
        for variant in _deletions(query) | _swaps(query):  # one less, or two swapped
            found |= self._same.get(variant, set())
        return found


class WordIndex:
    """For a token, the ids (`id(word)`) of every word that `word.matches(token)` accepts."""

    def __init__(self, words: Iterable[Word], *, fuzzy_min: int) -> None:
        self._fuzzy_min = fuzzy_min
        self._exact: dict[str, set[int]] = {}
        self._prefix: dict[int, dict[str, set[int]]] = {}  # prefix length -> prefix -> words
        self._fuzzy_exact = _OneEdit()
        self._fuzzy_prefix: dict[int, _OneEdit] = {}  # by prefix length
        for word in words:
            key = id(word)
            for text in word.exact:
                self._exact.setdefault(text, set()).add(key)
                if len(text) >= fuzzy_min:
                    self._fuzzy_exact.add(text, key)
            for prefix in word.prefixes:
                self._prefix.setdefault(len(prefix), {}).setdefault(prefix, set()).add(key)
                if len(prefix) >= fuzzy_min:
                    self._fuzzy_prefix.setdefault(len(prefix), _OneEdit()).add(prefix, key)

    def words_matching(self, token: str) -> set[int]:
        """Ids of the words matching `token` exactly, by prefix, or (if long enough) fuzzily."""
        found = set(self._exact.get(token, ()))
        for length, prefixes in self._prefix.items():
            if len(token) >= length:
                found |= prefixes.get(token[:length], set())
        if len(token) < self._fuzzy_min - 1:
            return found
        found |= self._fuzzy_exact.find(token)
        for length, index in self._fuzzy_prefix.items():
            # The token's first length-1, length or length+1 letters, one edit from the prefix.
            for head in {token[:length - 1], token[:length], token[:length + 1]}:
                found |= index.find(head)
        return found
