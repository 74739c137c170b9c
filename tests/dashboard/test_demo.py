"""`stemme demo`: what `make run` shows a newcomer on an empty database."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from bot.cli.main import main
from bot.runtime.parts import Runtime
from bot.runtime.settings import load_settings
from reports.alerts import Urgency, case_status
from reports.casefile import load_case_data
from storage.models import Case, Conversation, utcnow

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh data folder for the CLI, with no settings from the developer's shell."""
    for key in list(os.environ):
        if key.startswith("STEMME_") and key != "STEMME_TEST_POSTGRES_URL":
            monkeypatch.delenv(key)
    monkeypatch.setenv("STEMME_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code = main([*argv, "--json"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    return code, json.loads(lines[-1])


def test_an_empty_database_gets_one_improving_and_one_not_on_track_case(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "migrate")

    code, seeded = run(capsys, "demo", "--if-empty")
    again_code, again = run(capsys, "demo", "--if-empty")
    refused_code, _ = run(capsys, "demo")

    assert (code, again_code, refused_code) == (0, 0, 1)
    assert seeded["dashboard_url"] == "http://127.0.0.1:8080/"
    assert seeded["login"] == {"email": "demo@stemme.example", "password": "stemme-demo-2026",
                               "role": "caseworker"}
    links = [p["webchat_url"] for c in seeded["cases"] for p in c["participants"]]
    assert len(links) == 6 and all(u.startswith("http://127.0.0.1:8080/chat/") for u in links)
    assert again["seeded"] is False
    rt = Runtime(load_settings())
    try:
        with Session(rt.engine) as session:
            now = utcnow()
            status = {}
            for case in session.exec(select(Case)).all():
                data = load_case_data(session, rt.vault, case.id, now=now)
                status[case.ref] = (case_status(data, now=now).urgency, len(
                    {a.survey_id for a in data.answers if a.rater_role == "child"}))
            surveys = len(session.exec(select(Conversation)).all())
    finally:
        rt.close()
    assert status["DEMO-1"] == (Urgency.ON_TRACK, 10)
    assert status["DEMO-2"][0] == Urgency.NOT_ON_TRACK and status["DEMO-2"][1] == 10
    assert surveys > 40  # every survey is a conversation that groups its answers


def test_make_run_migrates_seeds_the_demo_once_and_serves() -> None:
    makefile = (ROOT / "Makefile").read_text()

    recipe = makefile.split("\nrun:", 1)[1].split("\n\n", 1)[0]

    assert ("$(VENV)/bin/stemme migrate && $(VENV)/bin/stemme demo --if-empty && "
            "$(VENV)/bin/stemme serve") in recipe


def test_no_demo_with_its_published_password_on_a_public_instance(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STEMME_PUBLIC_URL", "https://stemme.kommune.dk")
    run(capsys, "migrate")

    code, result = run(capsys, "demo", "--if-empty")

    assert code == 0 and result["seeded"] is False
    rt = Runtime(load_settings())
    try:
        with Session(rt.engine) as session:
            assert session.exec(select(Case)).all() == []
    finally:
        rt.close()
