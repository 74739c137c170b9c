"""`serve` checks the files its settings name before it starts: a bad one is one line naming
the setting and what to do, exit code 2, no traceback."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.flows.safety import LEXICON_PATH


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh data folder and no STEMME_* settings but the ones a test sets."""
    for key in list(os.environ):
        if key.startswith("STEMME_") and key != "STEMME_TEST_POSTGRES_URL":
            monkeypatch.delenv(key)
    monkeypatch.setenv("STEMME_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)  # no stray .env from the developer's checkout
    return tmp_path


def refused_line(capsys: pytest.CaptureFixture[str]) -> str:
    """Serve on a port nobody may bind; it must be refused before it tries."""
    assert main(["serve", "--port", "1"]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert captured.out == "" and "\n" not in err and "Traceback" not in err
    return err


PACKS = {
    "bad TOML": ("pack.toml", "instrument = \n", "pack.toml"),
    "unknown instrument": ("pack.toml", "instrument = 'no-such'\n", "no-such"),
    "not wording": ("pack.toml", "instrument = 'outcome-child'\nscoring = 1\n", "wording only"),
}


@pytest.mark.parametrize("case", PACKS, ids=list(PACKS))
def test_a_text_pack_that_does_not_load_stops_serve(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    name, text, named = PACKS[case]
    folder = env / "packs"
    folder.mkdir()
    (folder / name).write_text(text)
    monkeypatch.setenv("STEMME_TEXT_PACKS_DIR", str(folder))

    err = refused_line(capsys)

    assert err.startswith(f"error: STEMME_TEXT_PACKS_DIR {folder}") and named in err
    assert "unset" in err


def test_a_text_pack_folder_that_does_not_exist_stops_serve(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STEMME_TEXT_PACKS_DIR", str(env / "missing"))

    err = refused_line(capsys)

    assert err.startswith(f"error: STEMME_TEXT_PACKS_DIR {env / 'missing'} is not a folder")


LEXICONS = {
    "bad TOML": ("[[terms]\n", "line 1"),
    "a term without a category": ("[[terms]]\nterm = 'x'\npatterns = ['x']\n", "'category'"),
    "an unknown macro": ("[[terms]]\ncategory = 'self_harm'\nterm = 'x'\n"
                         "patterns = ['@nowhere']\n", "'nowhere'"),
    "no terms": ("[macros]\n", "has no [[terms]]"),
}


@pytest.mark.parametrize("case", LEXICONS, ids=list(LEXICONS))
def test_a_risk_lexicon_that_does_not_parse_stops_serve(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    text, named = LEXICONS[case]
    path = env / "lexicon.toml"
    path.write_text(text)
    monkeypatch.setenv("STEMME_RISK_LEXICON_FILE", str(path))

    err = refused_line(capsys)

    assert err.startswith(f"error: STEMME_RISK_LEXICON_FILE {path}") and named in err
    assert "shipped lexicon" in err


def test_a_missing_risk_lexicon_stops_serve_and_json_says_so(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STEMME_RISK_LEXICON_FILE", str(env / "nowhere.toml"))

    assert main(["serve", "--port", "1", "--json"]) == 2

    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert result["ok"] is False and result["error"] == "ConfigurationError"
    assert result["message"].startswith("STEMME_RISK_LEXICON_FILE ")
    assert "does not exist" in result["message"]


def test_good_files_pass_the_checks(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = env / "packs"
    folder.mkdir()
    (folder / "child.toml").write_text("instrument = 'outcome-child'\n")
    lexicon = env / "lexicon.toml"
    lexicon.write_text(LEXICON_PATH.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setenv("STEMME_TEXT_PACKS_DIR", str(folder))
    monkeypatch.setenv("STEMME_RISK_LEXICON_FILE", str(lexicon))

    # Past the checks, serve stops at the next one: the database was never migrated.
    assert main(["serve", "--port", "1"]) == 1
    assert "stemme migrate" in capsys.readouterr().err
