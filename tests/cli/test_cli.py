"""The `stemme` command line: one JSON object with --json, readable errors, no tracebacks."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path

import pytest

from bot.cli.main import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str) -> Path:
    """A fresh data folder and database for the CLI."""
    for key in list(os.environ):
        if key.startswith("STEMME_") and key != "STEMME_TEST_POSTGRES_URL":
            monkeypatch.delenv(key)
    monkeypatch.setenv("STEMME_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("STEMME_DATABASE_URL", db_url)
    monkeypatch.chdir(tmp_path)  # no stray .env from the developer's checkout
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str, stdin: str | None = None,
        monkeypatch: pytest.MonkeyPatch | None = None) -> tuple[int, dict]:
    if stdin is not None and monkeypatch is not None:
        import io

        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main([*argv, "--json"])
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1, f"--json must print exactly one line, got {out!r}"
    return code, json.loads(out[0])


def last_sunday_of_october(year: int) -> date:
    """The day summer time ends in Denmark (the EU's rule)."""
    day = date(year, 10, 31)
    return day - timedelta(days=(day.weekday() + 1) % 7)


def test_a_case_is_set_up_from_the_command_line(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run(capsys, "migrate")[0] == 0
    code, user = run(capsys, "user", "add", "--email", "CW@Example.org", "--role", "caseworker",
                     "--password-stdin", stdin="correct horse battery\n", monkeypatch=monkeypatch)
    assert code == 0 and user["email"] == "cw@example.org"
    code, case = run(capsys, "case", "create", "--ref", "K-1", "--child-name", "Sofie",
                     "--birth-date", "2016-02-29", "--caseworker", "cw@example.org")
    assert code == 0 and len(case["case_id"]) == 32
    code, child = run(capsys, "participant", "add", "--case", case["case_id"], "--role", "child",
                      "--channel", "webchat", "--guardian-consent")
    assert code == 0
    assert child["invite_url"] == f"http://127.0.0.1:8080/chat/{child['invite_code']}"
    code, parent = run(capsys, "participant", "add", "--case", case["case_id"], "--role",
                       "parent", "--channel", "sms", "--phone", "12345678")
    assert code == 0 and "invite_code" not in parent
    summer_ends = last_sunday_of_october(date.today().year + 1)  # sessions are ahead of now
    first = summer_ends - timedelta(days=3)  # the Thursday before
    code, sessions = run(capsys, "session", "add", "--case", case["case_id"], "--at",
                         f"{first}T15:00", "--every", "1w", "--until",
                         str(first + timedelta(weeks=2)))
    assert code == 0
    # 15:00 in Copenhagen is 13:00 UTC in summer time and 14:00 UTC after it ends.
    assert sessions["starts_at"] == [f"{first}T13:00:00+00:00",
                                     f"{first + timedelta(weeks=1)}T14:00:00+00:00",
                                     f"{first + timedelta(weeks=2)}T14:00:00+00:00"]
    code, verified = run(capsys, "audit", "verify")
    # user, case, consent, two participants, the child's invite, sessions
    assert code == 0 and verified["entries_checked"] == 7


def test_keys_rotate_reports_the_new_master_key(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "migrate")
    code, result = run(capsys, "keys", "rotate")
    assert (code, result["master_key_id"], result["previous_master_key_id"]) == (0, "m2", "m1")


def test_an_unknown_caseworker_gets_an_error_that_says_what_to_do(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "migrate")
    code, result = run(capsys, "case", "create", "--ref", "K", "--child-name", "A",
                       "--birth-date", "2015-01-01", "--caseworker", "nobody@example.org")
    assert code == 1 and result["ok"] is False
    assert "stemme user add" in result["message"]


def test_guardian_consent_is_refused_for_a_child_of_fifteen(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run(capsys, "migrate")
    run(capsys, "user", "add", "--email", "cw@example.org", "--role", "caseworker")
    _, case = run(capsys, "case", "create", "--ref", "K", "--child-name", "A",
                  "--birth-date", "2005-01-01", "--caseworker", "cw@example.org")
    code, result = run(capsys, "participant", "add", "--case", case["case_id"], "--role",
                       "child", "--channel", "telegram", "--guardian-consent")
    assert code == 1 and "decides alone" in result["message"]


@pytest.mark.parametrize("var,value,expected", [
    ("STEMME_PUBLIC_URL", "ftp://example.org", "STEMME_PUBLIC_URL"),
    ("STEMME_DATABASE_URL", "mysql://x/y", "STEMME_DATABASE_URL"),
    ("STEMME_TIMEZONE", "Mars/Olympus", "STEMME_TIMEZONE"),
    ("STEMME_QUIET_HOURS", "late", "STEMME_QUIET_HOURS"),
    ("STEMME_SEND_MAX_ATTEMPTS", "0", "STEMME_SEND_MAX_ATTEMPTS"),
])
def test_a_bad_setting_stops_with_one_readable_line(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    var: str, value: str, expected: str,
) -> None:
    monkeypatch.setenv(var, value)
    assert main(["migrate"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and expected in err and "\n" not in err


def test_a_writer_process_is_refused_an_in_memory_database(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STEMME_DATABASE_URL", "sqlite://")
    monkeypatch.setenv("STEMME_WRITER_PROCESS", "true")
    assert main(["migrate"]) == 1
    err = capsys.readouterr().err.strip()
    assert "STEMME_WRITER_PROCESS" in err and "STEMME_DATABASE_URL" in err and "\n" not in err


def test_an_unreadable_key_file_stops_with_one_readable_line(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file = env / "keys.json"
    key_file.write_text("garbage")
    key_file.chmod(0o600)
    monkeypatch.setenv("STEMME_KEY_FILE", str(key_file))
    assert main(["migrate"]) == 1
    err = capsys.readouterr().err.strip()
    assert "keys.json" in err and "\n" not in err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("writer_process", ["false", "true"])
def test_serve_answers_healthz_and_metrics_and_stops_on_sigterm(
    env: Path, writer_process: str
) -> None:
    port = _free_port()
    child_env = {**os.environ, "STEMME_WRITER_PROCESS": writer_process}
    subprocess.run([sys.executable, "-m", "bot", "migrate"], env=child_env, check=True,
                   capture_output=True, cwd=env)
    proc = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--port", str(port)],
                            env=child_env, cwd=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        health = None
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    health = (r.status, json.loads(r.read()))
                break
            except OSError:
                time.sleep(0.1)
        assert health is not None and health[0] == 200 and health[1]["status"] == "ok"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
            assert b"stemme_up 1.0" in r.read()
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    finally:
        proc.terminate()
        assert proc.wait(timeout=20) == 0
        errors = proc.stderr.read().decode()  # type: ignore[union-attr]
        proc.stdout.close()  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]
    # The writer process is started with the server and stopped with it, quietly.
    assert bool(children) == (writer_process == "true")
    assert "Traceback" not in errors, errors
    # multiprocessing's resource tracker leaves when it reads the end of its pipe: soon after.
    for _ in range(100):
        alive = [pid for pid in children if _running(pid)]
        if not alive:
            break
        time.sleep(0.1)
    assert not alive, "a child of serve outlived it"


def _running(pid: str) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_serve_refuses_an_unmigrated_database(env: Path, capsys: pytest.CaptureFixture[str]
                                               ) -> None:
    code, result = run(capsys, "serve", "--port", str(_free_port()))
    assert code == 1 and "stemme migrate" in result["message"]


def test_a_teacher_rates_on_the_cadence_within_their_window(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run(capsys, "migrate")
    run(capsys, "user", "add", "--email", "cw@example.org", "--role", "caseworker")
    _, case = run(capsys, "case", "create", "--ref", "K", "--child-name", "A",
                  "--birth-date", "2015-01-01", "--caseworker", "cw@example.org",
                  "--cadence", "haderslev")
    code, teacher = run(capsys, "participant", "add", "--case", case["case_id"], "--role",
                        "teacher", "--channel", "sms", "--phone", "12345678", "--window",
                        "man-fre 08:00-16:00")
    assert code == 0
    from sqlmodel import Session

    from storage.db import make_engine
    from storage.models import Participant

    engine = make_engine(os.environ["STEMME_DATABASE_URL"])
    with Session(engine) as session:
        person = session.get(Participant, teacher["participant_id"])
        assert (person.rates_sessions, person.contact_window) == (False, "mon-fri 08:00-16:00")
    engine.dispose()


def test_a_window_that_quiet_hours_swallow_is_refused(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "migrate")
    run(capsys, "user", "add", "--email", "cw@example.org", "--role", "caseworker")
    _, case = run(capsys, "case", "create", "--ref", "K", "--child-name", "A",
                  "--birth-date", "2015-01-01", "--caseworker", "cw@example.org")
    code, result = run(capsys, "participant", "add", "--case", case["case_id"], "--role",
                       "parent", "--channel", "sms", "--phone", "12345678", "--window",
                       "21:00-23:00")
    assert code == 1 and "exclude each other" in result["message"]


def test_cancelling_a_series_cancels_the_rest_of_it(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "migrate")
    run(capsys, "user", "add", "--email", "cw@example.org", "--role", "caseworker")
    _, case = run(capsys, "case", "create", "--ref", "K", "--child-name", "A",
                  "--birth-date", "2015-01-01", "--caseworker", "cw@example.org")
    first = date.today() + timedelta(days=30)
    _, series = run(capsys, "session", "add", "--case", case["case_id"], "--at",
                    f"{first}T15:00", "--every", "1w", "--until",
                    str(first + timedelta(weeks=4)))
    code, result = run(capsys, "session", "cancel", "--session", series["session_ids"][2],
                       "--series")
    assert code == 0 and result["cancelled"] == 3  # the 3rd, 4th and 5th of five


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_audit_verify_fails_and_names_the_row_someone_edited(
    env: Path, capsys: pytest.CaptureFixture[str], db_url: str
) -> None:
    # Arrange: a few audited actions, then one audit row edited behind Stemme's back.
    run(capsys, "migrate")
    run(capsys, "user", "add", "--email", "cw@example.org", "--role", "caseworker")
    run(capsys, "case", "create", "--ref", "K", "--child-name", "A", "--birth-date",
        "2015-01-01", "--caseworker", "cw@example.org")
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as conn:
        [(first_id,)] = conn.execute("SELECT min(id) FROM audit_log").fetchall()
        conn.execute("UPDATE audit_log SET target = 'case:someone-else' WHERE id = ?",
                     (first_id,))

    # Act
    with pytest.raises(SystemExit) as exited:
        run(capsys, "audit", "verify")

    # Assert
    assert exited.value.code == 1
    report = json.loads(capsys.readouterr().out.strip())
    assert (report["ok"], report["first_broken_id"]) == (False, first_id)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_audit_verify_anchors_the_head_and_then_finds_a_deleted_tail(
    env: Path, capsys: pytest.CaptureFixture[str], db_url: str
) -> None:
    # Arrange: audited actions, a verify that anchors the head, then the newest entries
    # deleted behind Stemme's back (the chain that is left is valid in itself).
    run(capsys, "migrate")
    run(capsys, "user", "add", "--email", "cw@example.org", "--role", "caseworker")
    run(capsys, "case", "create", "--ref", "K", "--child-name", "A", "--birth-date",
        "2015-01-01", "--caseworker", "cw@example.org")
    code, first = run(capsys, "audit", "verify")
    anchors = env / "data" / "audit-anchors.jsonl"
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as conn:
        conn.execute("DELETE FROM audit_log WHERE seq > 1")

    # Act
    with pytest.raises(SystemExit) as exited:
        run(capsys, "audit", "verify")

    # Assert
    assert code == 0 and first["head"]["seq"] == first["entries_checked"] >= 2
    assert json.loads(anchors.read_text().splitlines()[0])["seq"] == first["head"]["seq"]
    assert exited.value.code == 1
    report = json.loads(capsys.readouterr().out.strip())
    assert (report["ok"], report["first_broken_seq"]) == (False, 2)


@pytest.mark.parametrize("value", ["off", "OFF", ""])
def test_quiet_hours_off_or_empty_means_none(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("STEMME_QUIET_HOURS", value)

    assert main(["migrate"]) == 0


def test_a_raters_window_and_mode_change_after_they_were_added(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Arrange
    run(capsys, "migrate")
    run(capsys, "user", "add", "--email", "cw@example.org", "--role", "caseworker")
    _, case = run(capsys, "case", "create", "--ref", "K", "--child-name", "A",
                  "--birth-date", "2015-01-01", "--caseworker", "cw@example.org")
    _, parent = run(capsys, "participant", "add", "--case", case["case_id"], "--role",
                    "parent", "--channel", "sms", "--phone", "12345678")
    pid = parent["participant_id"]

    # Act
    code, changed = run(capsys, "participant", "set", "--participant", pid, "--window",
                        "man-fre 08:00-16:00", "--rates", "cadence")
    cleared_code, cleared = run(capsys, "participant", "set", "--participant", pid,
                                "--window", "")
    refused, said = run(capsys, "participant", "set", "--participant", pid)

    # Assert
    assert (code, changed["contact_window"], changed["rates"]) == (
        0, "mon-fri 08:00-16:00", "cadence")
    assert (cleared_code, cleared["contact_window"], cleared["rates"]) == (0, None, "cadence")
    assert refused == 1 and "--window" in json.dumps(said)
