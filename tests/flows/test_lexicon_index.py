"""The word index finds exactly the words `Word.matches` accepts, only faster."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.flows.safety import FUZZY_MIN, load_lexicon

LEXICON = load_lexicon()
WORDS = list({id(w): w for t in LEXICON._terms
              for p in (*t.patterns, *t.unless, *t.unless_anywhere)
              for g in p.groups for phrase in g.phrases for w in phrase}.values())
TEXTS = sorted({text for word in WORDS for text in (*word.exact, *word.prefixes) if text})
LETTERS = "abcdefghijklmnopqrstuvwxyz0"


def brute_force(token: str) -> set[int]:
    return {id(word) for word in WORDS if word.matches(token)}


@st.composite
def near_lexicon_tokens(draw: st.DrawFn) -> str:
    """A lexicon text with up to two edits and maybe a tail: where mistakes would hide."""
    token = draw(st.sampled_from(TEXTS))
    for _ in range(draw(st.integers(0, 2))):
        if not token:
            break
        at = draw(st.integers(0, len(token) - 1))
        edit = draw(st.sampled_from(["drop", "insert", "swap", "replace"]))
        letter = draw(st.sampled_from(LETTERS))
        if edit == "drop":
            token = token[:at] + token[at + 1:]
        elif edit == "insert":
            token = token[:at] + letter + token[at:]
        elif edit == "swap" and at + 1 < len(token):
            token = token[:at] + token[at + 1] + token[at] + token[at + 2:]
        else:
            token = token[:at] + letter + token[at + 1:]
    return token + draw(st.text(LETTERS, max_size=3))


@settings(max_examples=300, deadline=None)
@given(near_lexicon_tokens())
def test_the_index_agrees_with_each_word_near_the_lexicon(token: str) -> None:
    assert LEXICON._index.words_matching(token) == brute_force(token)


@settings(max_examples=300, deadline=None)
@given(st.text(LETTERS, max_size=12))
def test_the_index_agrees_with_each_word_on_any_token(token: str) -> None:
    assert LEXICON._index.words_matching(token) == brute_force(token)


def test_every_lexicon_text_and_its_one_edit_neighbours_are_found() -> None:
    # Each exact text finds its word; each long one also one letter short, long or swapped.
    # An evenly spread fortieth of the texts: brute force costs texts x words, and the
    # lexicon has thousands of each (the hypothesis specs above draw from all of them).
    for text in TEXTS[::40]:
        variants = {text, text[1:], text + "x", text[:1] + text[2:]} if len(text) >= FUZZY_MIN \
            else {text}
        for token in variants:
            assert LEXICON._index.words_matching(token) == brute_force(token), token
