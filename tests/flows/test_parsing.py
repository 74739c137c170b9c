"""Reading ratings, yes/no and command words: table tests."""

from __future__ import annotations

import pytest

from bot.flows.parsing import (
    Ratings,
    Rejected,
    SkipItem,
    is_nothing_to_add,
    parse_button_score,
    parse_command,
    parse_ratings,
    parse_yes_no,
)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("7", Ratings((7.0,))),
        (" 7 ", Ratings((7.0,))),
        ("7,5", Ratings((7.5,))),
        ("7.5", Ratings((7.5,))),
        ("7,55", Ratings((7.6,))),  # stored with one decimal, half up
        ("7.", Ratings((7.0,))),
        ("0", Ratings((0.0,))),
        ("10", Ratings((10.0,))),
        ("10,0", Ratings((10.0,))),
        ("7/10", Ratings((7.0,))),
        ("syv", Ratings((7.0,))),
        ("Syv", Ratings((7.0,))),
        ("seven", Ratings((7.0,))),
        ("nul", Ratings((0.0,))),
        ("zero", Ratings((0.0,))),
        ("ti", Ratings((10.0,))),
        ("ten", Ratings((10.0,))),
        ("１０", Ratings((10.0,))),  # full-width digits from some phone keyboards
        ("11", Rejected("rating:out_of_range")),
        ("elleve", Rejected("rating:out_of_range")),
        ("eleven", Rejected("rating:out_of_range")),
        ("10,5", Rejected("rating:out_of_range")),
        ("-1", Rejected("rating:out_of_range")),
        ("abc", Rejected("rating:not_a_number")),
        ("", Rejected("rating:empty")),
        ("   ", Rejected("rating:empty")),
        ("7-8", Rejected("rating:not_a_number")),
        ("😀", Rejected("rating:not_a_number")),  # faces only on the faces scale
        ("spring over", SkipItem()),
        ("ved ikke", SkipItem()),
        ("-", SkipItem()),
    ],
)
def test_one_answer_on_the_0_to_10_scale(typed: str, expected: object) -> None:
    result = parse_ratings(typed, "numeric")

    assert result == expected


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("7 6 8 9", Ratings((7.0, 6.0, 8.0, 9.0))),
        ("7,6,8,9", Ratings((7.0, 6.0, 8.0, 9.0))),
        ("7, 6, 8, 9", Ratings((7.0, 6.0, 8.0, 9.0))),
        ("7;6;8;9", Ratings((7.0, 6.0, 8.0, 9.0))),
        ("7.6.8.9", Ratings((7.0, 6.0, 8.0, 9.0))),
        ("7,5 6 8 9", Ratings((7.5, 6.0, 8.0, 9.0))),
        ("syv seks otte ni", Ratings((7.0, 6.0, 8.0, 9.0))),
        ("7 6", Ratings((7.0, 6.0))),
        # The rule: one comma between digits is a decimal mark, so this is one answer.
        ("7,6", Ratings((7.6,))),
        ("7 6 8 9 5", Rejected("rating:too_many")),
        ("7 11 8 9", Rejected("rating:out_of_range")),
        ("7 x 8 9", Rejected("rating:not_a_number")),
    ],
)
def test_several_answers_in_one_message(typed: str, expected: object) -> None:
    result = parse_ratings(typed, "numeric", several=True, max_count=4)

    assert result == expected


def test_several_answers_are_refused_where_the_channel_asks_one_at_a_time() -> None:
    result = parse_ratings("7 6 8 9", "numeric", several=False, max_count=4)

    assert result == Rejected("rating:one_at_a_time")


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("😢", Ratings((0.0,))),
        ("🙁", Ratings((2.5,))),
        ("😐", Ratings((5.0,))),
        ("🙂", Ratings((7.5,))),
        ("😀", Ratings((10.0,))),
        ("☹️", Ratings((2.5,))),  # with a variation selector
        ("1", Ratings((0.0,))),
        ("3", Ratings((5.0,))),
        ("5", Ratings((10.0,))),
        ("fem", Ratings((10.0,))),
        ("6", Rejected("rating:out_of_range")),
        ("0", Rejected("rating:out_of_range")),
        ("2,5", Rejected("rating:out_of_range")),
        ("🐶", Rejected("rating:not_a_face")),
        ("glad", Rejected("rating:not_a_face")),
    ],
)
def test_faces_are_read_as_emoji_or_positions_1_to_5(typed: str, expected: object) -> None:
    result = parse_ratings(typed, "faces")

    assert result == expected


def test_several_faces_without_spaces_are_several_answers() -> None:
    result = parse_ratings("😀🙂😐😀", "faces", several=True, max_count=4)

    assert result == Ratings((10.0, 7.5, 5.0, 10.0))


@pytest.mark.parametrize(
    ("data", "scale", "expected"),
    [
        ("v:7", "numeric", 7.0),
        ("v:0", "numeric", 0.0),
        ("v:10", "numeric", 10.0),
        ("v:11", "numeric", None),
        ("v:-1", "numeric", None),
        ("v:nan", "numeric", None),
        ("v:inf", "numeric", None),
        ("v:", "numeric", None),
        ("x:7", "numeric", None),
        ("v:7.5", "faces", 7.5),
        ("v:7", "faces", None),
    ],
)
def test_button_data_carries_a_score_the_scale_offers(
    data: str, scale: str, expected: float | None
) -> None:
    assert parse_button_score(data, scale) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("STOP", "stop"),
        ("stop", "stop"),
        (" Stopp ", "stop"),
        ("AFMELD", "stop"),
        ("SLUT", "stop"),
        ("slut med det", None),
        ("/stop", "stop"),
        ("/stop@StemmeBot", "stop"),
        ("Stop!", "stop"),
        ("END", "stop"),  # Twilio's opt-out words: it stops delivering after each of them
        ("QUIT", "stop"),
        ("optout", "stop"),
        ("REVOKE", "stop"),
        ("bedre end i går", None),  # "end" inside a Danish sentence is only a word
        ("START", "start"),
        ("/start", "start"),
        ("/start abc123", "start_token"),
        ("HJÆLP", "help"),
        ("hjælp", "help"),
        ("HELP", "help"),
        ("/help", "help"),
        ("tilbage", "back"),
        ("Back", "back"),
        ("stop med at skrive til mig", None),  # only the word on its own is the command
        ("7", None),
    ],
)
def test_command_words_work_in_both_languages_any_case(typed: str, expected: str | None) -> None:
    assert parse_command(typed) == expected


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("ja", True),
        ("JA", True),
        ("Jaaa!", True),
        ("yes", True),
        ("ok", True),
        ("👍", True),
        ("nej", False),
        ("Nej tak", False),
        ("no", False),
        ("måske", None),
        ("7", None),
    ],
)
def test_yes_and_no(typed: str, expected: bool | None) -> None:
    assert parse_yes_no(typed) == expected


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("nej", True), ("No", True), ("-", True), ("nej tak", True), ("mere tid", False)],
)
def test_nothing_to_add_skips_the_free_text(typed: str, expected: bool) -> None:
    assert is_nothing_to_add(typed) == expected
