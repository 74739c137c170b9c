"""Splitting long chat texts at paragraph and sentence boundaries."""

from __future__ import annotations

import pytest

from bot.channels.text import split_text, utf16_length


def test_short_text_is_one_part() -> None:
    assert split_text("Hej med dig") == ["Hej med dig"]


def test_long_text_splits_at_a_paragraph_boundary() -> None:
    first = "A" * 3000
    second = "B" * 3000

    assert split_text(f"{first}\n\n{second}") == [first, second]


def test_without_paragraphs_it_splits_after_a_full_stop() -> None:
    sentence = "Det går fint med skolen. "
    text = (sentence * 300).strip()  # 7,499 characters

    parts = split_text(text)

    assert all(len(part) <= 4096 for part in parts)
    assert all(part.endswith(".") for part in parts)
    assert " ".join(parts) == text


def test_a_text_without_any_boundary_is_cut_hard() -> None:
    parts = split_text("x" * 9000)

    assert [len(part) for part in parts] == [4096, 4096, 808]


def test_emoji_count_double_towards_the_limit() -> None:
    text = "😀" * 3000  # 6,000 UTF-16 units

    parts = split_text(text)

    assert [utf16_length(part) for part in parts] == [4096, 1904]
    assert "".join(parts) == text


def test_early_boundaries_are_ignored_to_avoid_tiny_parts() -> None:
    text = "Hej.\n\n" + "y" * 5000

    parts = split_text(text)

    assert len(parts[0]) == 4096


@pytest.mark.parametrize("limit", [0, 1])
def test_limit_must_leave_room(limit: int) -> None:
    with pytest.raises(ValueError):
        split_text("abc", limit)
