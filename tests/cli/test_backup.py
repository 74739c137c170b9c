"""`stemme backup`: a consistent copy while another connection writes, restorable with the key
file alone; an existing file is kept without --force; PostgreSQL is sent to pg_dump."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bot.cli import backup
from bot.cli.main import main
from bot.cli.output import Output
from bot.runtime.parts import Runtime
from bot.runtime.settings import load_settings
from casework.cases import create_case
from storage.db import session_scope
from storage.models import utcnow
from storage.repo.users import user_by_email

DEMO_CASEWORKER = "demo@stemme.example"


def _clean_env(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    for key in list(os.environ):
        if key.startswith("STEMME_") and key != "STEMME_TEST_POSTGRES_URL":
            monkeypatch.delenv(key)
    monkeypatch.setenv("STEMME_DATA_DIR", str(folder / "data"))


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh SQLite data folder for the CLI (the backup is SQLite's; no PostgreSQL run)."""
    _clean_env(monkeypatch, tmp_path / "original")
    monkeypatch.chdir(tmp_path)  # no stray .env from the developer's checkout
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code = main([*argv, "--json"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1, f"--json must print exactly one line, got {lines!r}"
    return code, json.loads(lines[0])


class Writer(threading.Thread):
    """Another connection creating cases (each with its audit entry) until told to stop."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.rt = Runtime(load_settings())
        self.stop = threading.Event()
        self.written = 0
        self.wrote = threading.Condition()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                with session_scope(self.rt.engine) as session:
                    worker = user_by_email(session, DEMO_CASEWORKER)
                    assert worker is not None
                    create_case(session, self.rt.vault, actor="test", caseworker=worker,
                                ref=f"W-{self.written}", child_name="Writer",
                                birth_date=date(2015, 1, 1), cadence="law-minimum",
                                now=utcnow())
                with self.wrote:
                    self.written += 1
                    self.wrote.notify_all()
        except BaseException as exc:  # reported by the test, not lost in the thread
            self.error = exc
        finally:
            self.rt.close()

    def wait_for_more(self, than: int) -> None:
        with self.wrote:
            assert self.wrote.wait_for(lambda: self.written > than or self.error, timeout=20)


def _unaudited_cases(db: Path) -> tuple[int, int]:
    """(cases, cases without their `case.create` audit entry) in one database file."""
    with closing(sqlite3.connect(db)) as conn:
        cases = conn.execute("SELECT count(*) FROM cases").fetchone()[0]
        orphans = conn.execute(
            "SELECT count(*) FROM cases c WHERE NOT EXISTS (SELECT 1 FROM audit_log a "
            "WHERE a.action = 'case.create' AND a.target = 'case:' || c.id)").fetchone()[0]
    return int(cases), int(orphans)


def _export(capsys: pytest.CaptureFixture[str], case_id: str, out: Path) -> bytes:
    code, result = run(capsys, "export", "--case", case_id, "--format", "json", "--out",
                       str(out))
    assert code == 0, result
    return out.read_bytes()


def test_a_backup_taken_while_another_connection_writes_restores_to_the_same_export(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run(capsys, "migrate")[0] == 0
    code, demo = run(capsys, "demo")
    assert code == 0 and demo["seeded"]
    case_id = demo["cases"][0]["case_id"]
    original = env / "original" / "data" / "stemme.db"
    _, unaudited = _unaudited_cases(original)  # the demo's own cases, seeded its own way

    writer = Writer()
    steps: list[int] = []

    @contextmanager
    def progress(self: Output, label: str, total: int) -> Iterator[Any]:
        def step(n: int = 1) -> None:  # between backup steps: let the writer commit again
            steps.append(n)
            if len(steps) <= 5:
                writer.wait_for_more(writer.written)
        yield step

    monkeypatch.setattr(Output, "progress", progress)
    monkeypatch.setattr(backup, "STEP_PAGES", 8)  # many steps, writes between them
    writer.start()
    try:
        writer.wait_for_more(0)
        before = writer.written
        code, result = run(capsys, "backup", "--out", str(env / "stemme-backup.db"))
        during = writer.written - before
        writer.wait_for_more(writer.written)  # and the service goes on writing afterwards
    finally:
        writer.stop.set()
        writer.join(timeout=30)
    assert writer.error is None, writer.error
    assert code == 0, result
    assert during >= 5 and len(steps) > 5  # the copy really was taken while writes went on

    copy = Path(result["out"])
    assert copy == env / "stemme-backup.db" and result["bytes"] == copy.stat().st_size
    assert result["key_file"] == str(env / "original" / "data" / "keys.json")
    assert "key file" in result["reminder"] and "apart" in result["reminder"]
    assert copy.stat().st_mode & 0o077 == 0  # owner-only, like the database
    assert [p.name for p in env.iterdir() if p.name.startswith(".")] == []  # no partial left
    with closing(sqlite3.connect(copy)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # One moment's database: every case the writer committed has its audit entry with it,
    # and the cases committed after that moment are not in it.
    cases_in_copy, orphans = _unaudited_cases(copy)
    assert orphans == unaudited
    assert cases_in_copy < _unaudited_cases(original)[0]

    exported = _export(capsys, case_id, env / "original.json")

    # Restore: the backup as the database of a fresh folder, with the same key file.
    restored = env / "restored" / "data"
    restored.mkdir(parents=True)
    shutil.copyfile(copy, restored / "stemme.db")
    shutil.copyfile(env / "original" / "data" / "keys.json", restored / "keys.json")
    (restored / "keys.json").chmod(0o600)
    _clean_env(monkeypatch, env / "restored")
    assert _export(capsys, case_id, env / "restored.json") == exported
    assert json.loads(exported)["answers"], "the demo case has answers to compare"


def test_an_existing_backup_is_kept_unless_forced(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "migrate")[0] == 0
    target = env / "stemme-backup.db"
    assert run(capsys, "backup", "--out", str(target))[0] == 0
    target.write_bytes(b"an older backup")

    assert main(["backup", "--out", str(target)]) == 1
    err = capsys.readouterr().err.strip()
    assert "exists" in err and "--force" in err and "\n" not in err
    assert target.read_bytes() == b"an older backup"

    code, result = run(capsys, "backup", "--out", str(target), "--force")
    assert code == 0 and result["bytes"] == target.stat().st_size
    with closing(sqlite3.connect(target)) as conn:
        assert conn.execute("SELECT count(*) FROM alembic_version").fetchone()[0] == 1


def test_a_missing_folder_is_one_line(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "migrate")[0] == 0
    assert main(["backup", "--out", str(env / "nowhere" / "b.db")]) == 1
    err = capsys.readouterr().err.strip()
    assert "nowhere" in err and "does not exist" in err and "\n" not in err


def test_postgresql_is_refused_with_the_pg_dump_hint(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STEMME_DATABASE_URL", "postgresql+psycopg://stemme@db.invalid/stemme")
    target = env / "stemme-backup.db"

    assert main(["backup", "--out", str(target)]) == 1

    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "pg_dump" in err and "\n" not in err
    assert not target.exists()
    code, result = run(capsys, "backup", "--out", str(target))
    assert code == 1 and result["ok"] is False and "pg_dump" in result["message"]
