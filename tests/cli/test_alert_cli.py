"""`stemme alert list|ack`: the stored alerts, and assessing one from the command line."""

from __future__ import annotations

import getpass
import io
import json
import os
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from bot.cli.main import main
from bot.runtime.settings import load_settings
from storage.db import make_engine
from storage.keys import load_keyring
from storage.models import AuditEntry, Notice, utcnow
from storage.repo import alerts
from storage.vault import Vault


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str) -> Path:
    """A fresh data folder and database for the CLI."""
    for key in list(os.environ):
        if key.startswith("STEMME_") and key != "STEMME_TEST_POSTGRES_URL":
            monkeypatch.delenv(key)
    monkeypatch.setenv("STEMME_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("STEMME_DATABASE_URL", db_url)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict]:
    code = main([*argv, "--json"])
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1, f"--json must print exactly one line, got {out!r}"
    return code, json.loads(out[0])


def a_case_with_an_alert(capsys: pytest.CaptureFixture[str],
                         monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """A caseworker's case whose child wrote something that raised a safety alert."""
    run(capsys, "migrate")
    for email in ("cw@kommune.dk", "other@kommune.dk"):
        monkeypatch.setattr(sys, "stdin", io.StringIO("correct horse battery\n"))
        run(capsys, "user", "add", "--email", email, "--role", "caseworker", "--password-stdin")
    _, case = run(capsys, "case", "create", "--ref", "K-1", "--child-name", "Sofie",
                  "--birth-date", "2014-05-31", "--caseworker", "cw@kommune.dk")
    _, child = run(capsys, "participant", "add", "--case", case["case_id"], "--role", "child",
                   "--channel", "webchat", "--guardian-consent")
    settings = load_settings()
    engine = make_engine(settings.resolved_database_url)
    vault = Vault(load_keyring(settings.resolved_key_file, None))
    with Session(engine) as session:
        alert_id = alerts.raise_safety(session, vault, case_id=case["case_id"],
                                       participant_id=child["participant_id"],
                                       category="violence", free_text_id=None, now=utcnow(),
                                       deadline=timedelta(hours=24),
                                       escalate_after=timedelta(hours=4))
        session.commit()
    engine.dispose()
    return case["case_id"], alert_id


def notice_statuses(alert_id: str) -> set[str]:
    engine = make_engine(load_settings().resolved_database_url)
    with Session(engine) as session:
        found = {n.status for n in session.exec(select(Notice).where(Notice.alert_id == alert_id))}
        audited = session.exec(select(AuditEntry).where(AuditEntry.action == "alert.ack")).all()
    engine.dispose()
    return found | {f"audited:{e.actor}:{e.detail.split(' by=')[1]}" for e in audited}


def test_an_alert_is_listed_and_acknowledged_from_the_command_line(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id, alert_id = a_case_with_an_alert(capsys, monkeypatch)

    listed = run(capsys, "alert", "list", "--case", case_id)
    acked = run(capsys, "alert", "ack", "--alert", alert_id, "--by", "cw@kommune.dk",
                "--note", "Talt med barnet og skolen")
    still_open = run(capsys, "alert", "list", "--open")

    code, body = listed
    assert code == 0
    (item,) = body["alerts"]
    assert {k: item[k] for k in ("alert_id", "rule", "category", "acknowledged_at")} == {
        "alert_id": alert_id, "rule": "safety", "category": "violence",
        "acknowledged_at": None}
    assert item["raised_at"] and item["participant_role"] == "child"
    code, body = acked
    assert code == 0 and body["acknowledged_by"] == "cw@kommune.dk"
    assert body["acknowledged_at"] is not None
    assert still_open == (0, {"ok": True, "alerts": []})
    # Audited as the operating-system user who ran it, naming whom `--by` said.
    assert notice_statuses(alert_id) == {
        "cancelled", f"audited:cli:{getpass.getuser()}:cw@kommune.dk via=cli:{getpass.getuser()}"}


def test_an_alert_is_acknowledged_once_and_only_by_someone_who_may_see_the_case(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, alert_id = a_case_with_an_alert(capsys, monkeypatch)

    stranger = run(capsys, "alert", "ack", "--alert", alert_id, "--by", "other@kommune.dk",
                   "--note", "x")
    first = run(capsys, "alert", "ack", "--alert", alert_id, "--by", "cw@kommune.dk",
                "--note", "Vurderet")
    again = run(capsys, "alert", "ack", "--alert", alert_id, "--by", "cw@kommune.dk",
                "--note", "igen")
    unknown = run(capsys, "alert", "ack", "--alert", "0" * 32, "--by", "cw@kommune.dk",
                  "--note", "x")

    assert stranger[0] == 1 and "not their case" in stranger[1]["message"]
    assert first[0] == 0
    assert (again[0], again[1]["error"]) == (1, "Conflict")
    assert (unknown[0], unknown[1]["error"]) == (1, "NotFound")


@pytest.mark.parametrize("value", ["soon", "4 hours", "0h", "-1h"])
def test_a_bad_escalation_time_stops_with_one_line_naming_the_setting(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("STEMME_ESCALATE_AFTER", value)

    code = main(["migrate"])

    err = capsys.readouterr().err.strip()
    assert code == 1 and err.startswith("error: STEMME_ESCALATE_AFTER") and "\n" not in err


def test_the_escalation_time_is_read_like_other_lengths_of_time(
    env: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    for value, expected in (("4h", timedelta(hours=4)), ("90m", timedelta(minutes=90)),
                            ("1d", timedelta(days=1)), ("1h30m", timedelta(minutes=90))):
        monkeypatch.setenv("STEMME_ESCALATE_AFTER", value)
        assert load_settings().escalate_after == expected
    monkeypatch.delenv("STEMME_ESCALATE_AFTER")
    assert load_settings().escalate_after == timedelta(hours=4)
