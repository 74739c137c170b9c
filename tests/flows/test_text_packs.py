"""Licensed text packs: an organisation's wording replaces Stemme's without touching scoring."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bot.flows import AnswerRecorded, InstrumentError
from bot.flows.instruments import load_instruments, load_instruments_uncached
from tests.flows.conversation import Conversation, make_context

PACK = """\
instrument = "outcome-child"
version = "1"
wording = "licensed-2026"

[text.da]
intro = "Tænk på de sidste syv dage."

[items.me.da]
question = "LICENS: Hvordan har du haft det personligt?"
"""


def _answers(conv: Conversation) -> list[AnswerRecorded]:
    return conv.of_type(AnswerRecorded)


def test_a_text_pack_changes_the_wording_and_not_the_scoring(tmp_path: Path) -> None:
    (tmp_path / "ors.toml").write_text(PACK, encoding="utf-8")
    shipped = Conversation(make_context("da", "child", "6-12", "buttons"))
    ctx = make_context("da", "child", "6-12", "buttons")
    licensed = Conversation(dataclasses.replace(ctx, instruments=load_instruments(tmp_path)))

    for conv in (shipped, licensed):
        conv.start(session_took_place=False)
        conv.say("7")

    assert "LICENS: Hvordan har du haft det personligt?" in licensed.messages[1].text
    assert "Tænk på de sidste syv dage." in licensed.messages[1].text
    assert "LICENS" not in shipped.messages[1].text
    assert licensed.messages[1].choices == shipped.messages[1].choices
    [ours], [theirs] = _answers(shipped), _answers(licensed)
    assert dataclasses.replace(theirs, wording="stemme") == ours
    assert theirs.wording == "licensed-2026"


def test_a_pack_leaves_other_languages_and_items_alone(tmp_path: Path) -> None:
    (tmp_path / "ors.toml").write_text(PACK, encoding="utf-8")

    instruments = load_instruments_uncached(tmp_path)
    shipped = load_instruments_uncached(None)

    licensed = instruments["outcome-child"]
    assert licensed.item_text("en", "me", "question") == shipped["outcome-child"].item_text(
        "en", "me", "question"
    )
    assert licensed.item("family") == shipped["outcome-child"].item("family")
    assert licensed.scale == shipped["outcome-child"].scale


@pytest.mark.parametrize(
    "pack",
    [
        'instrument = "no-such"\n',
        'instrument = "outcome-child"\n[items.feelings.da]\nquestion = "x"\n',
        'instrument = "outcome-child"\nversion = "2"\n',
        'instrument = "outcome-child"\n[scale]\ntype = "faces"\n',
        'instrument = "outcome-child"\n[items.me.da]\nscore = "x"\n',
        'instrument = "outcome-child"\n[items.me.da]\nquestion = ""\n',
        "not toml at all [",
    ],
)
def test_a_pack_that_would_change_more_than_wording_is_refused(
    tmp_path: Path, pack: str
) -> None:
    (tmp_path / "bad.toml").write_text(pack, encoding="utf-8")

    with pytest.raises(InstrumentError):
        load_instruments_uncached(tmp_path)


def test_a_missing_pack_folder_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(InstrumentError):
        load_instruments_uncached(tmp_path / "nowhere")
