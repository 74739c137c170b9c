"""`stemme demo` only on loopback: its logins have a published password."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from bot.cli.demo import loopback, published_logins
from bot.cli.main import main
from bot.runtime.parts import Runtime
from bot.runtime.settings import load_settings
from storage.models import User
from storage.repo.users import create_user


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
    return code, json.loads(lines[-1])


def users() -> int:
    rt = Runtime(load_settings())
    try:
        with Session(rt.engine) as session:
            return len(session.exec(select(User)).all())
    finally:
        rt.close()


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "stemme.kommune.dk"])
def test_the_demo_refuses_a_host_others_can_reach_whatever_the_public_url_says(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, host: str,
) -> None:
    monkeypatch.setenv("STEMME_HOST", host)
    monkeypatch.setenv("STEMME_PUBLIC_URL", "http://127.0.0.1:8080")
    run(capsys, "migrate")

    code, refused = run(capsys, "demo")
    quiet_code, skipped = run(capsys, "demo", "--if-empty")

    assert code == 1 and "loopback" in json.dumps(refused)
    assert quiet_code == 0 and skipped["seeded"] is False
    assert users() == 0


@pytest.mark.parametrize(("host", "local"), [
    ("127.0.0.1", True), ("127.0.1.1", True), ("::1", True), ("[::1]", True),
    ("localhost", True), ("0.0.0.0", False), ("", False), ("10.0.0.5", False),
    ("localhost.evil.example", False),
])
def test_only_loopback_names_count_as_local(host: str, local: bool) -> None:
    assert loopback(host) is local


def test_serve_can_tell_that_the_published_demo_password_still_opens_a_login(
    env: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    run(capsys, "migrate")
    rt = Runtime(load_settings())
    try:
        with Session(rt.engine) as session:
            create_user(session, email="demo@stemme.example", role="caseworker",
                        password="stemme-demo-2026")
            create_user(session, email="admin@stemme.example", role="admin",
                        password="a password of our own")
            session.commit()
            found = published_logins(session)
    finally:
        rt.close()

    assert found == ["demo@stemme.example"]
