"""`stemme participant invite`: a new invite ends the earlier ones; t.me links name the bot
getMe answers with (the fake Bot API over real HTTP), unless the setting overrides it."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, col, select

from bot.cli.main import main
from storage.db import make_engine
from storage.models import Invite
from tests.fakes.fixtures import TELEGRAM_SECRET, TELEGRAM_TOKEN, fake_telegram
from tests.fakes.telegram_api import FakeTelegramAPI

__all__ = ["fake_telegram"]


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str) -> str:
    """A fresh data folder and database for the CLI; returns the database URL."""
    for key in list(os.environ):
        if key.startswith("STEMME_") and key != "STEMME_TEST_POSTGRES_URL":
            monkeypatch.delenv(key)
    monkeypatch.setenv("STEMME_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("STEMME_DATABASE_URL", db_url)
    monkeypatch.chdir(tmp_path)
    return db_url


@pytest.fixture
def telegram_env(env: str, monkeypatch: pytest.MonkeyPatch,
                 fake_telegram: FakeTelegramAPI) -> str:
    """The CLI's Telegram settings pointing at the fake Bot API (no username setting)."""
    monkeypatch.setenv("STEMME_TELEGRAM_TOKEN", TELEGRAM_TOKEN)
    monkeypatch.setenv("STEMME_TELEGRAM_WEBHOOK_SECRET", TELEGRAM_SECRET)
    monkeypatch.setenv("STEMME_TELEGRAM_API_URL", fake_telegram.url)
    return env


async def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    """One command with --json, in a thread (it runs its own event loop for getMe)."""
    code = await asyncio.to_thread(main, [*argv, "--json"])
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1, out
    return code, json.loads(out[0])


async def a_case(capsys: pytest.CaptureFixture[str]) -> str:
    """A migrated database with a caseworker and one case; returns the case id."""
    assert (await run(capsys, "migrate"))[0] == 0
    assert (await run(capsys, "user", "add", "--email", "cw@example.org", "--role",
                      "caseworker"))[0] == 0
    code, case = await run(capsys, "case", "create", "--ref", "K-1", "--child-name", "Sofie",
                           "--birth-date", "2014-05-31", "--caseworker", "cw@example.org")
    assert code == 0
    return str(case["case_id"])


def invites_of(db_url: str, pid: str) -> list[Invite]:
    """The participant's invites, oldest first."""
    engine = make_engine(db_url)
    try:
        with Session(engine) as session:
            return list(session.exec(select(Invite).where(Invite.participant_id == pid)
                                     .order_by(col(Invite.created_at))).all())
    finally:
        engine.dispose()


async def test_a_telegram_invite_link_names_the_bot_from_get_me_and_replaces_the_last(
    telegram_env: str, capsys: pytest.CaptureFixture[str], fake_telegram: FakeTelegramAPI
) -> None:
    case_id = await a_case(capsys)

    code, added = await run(capsys, "participant", "add", "--case", case_id, "--role", "child",
                            "--channel", "telegram")
    code2, again = await run(capsys, "participant", "invite", "--participant",
                             added["participant_id"])

    assert (code, code2) == (0, 0)
    assert added["invite_url"] == f"https://t.me/stemme_test_bot?start={added['invite_code']}"
    assert again["invite_url"] == f"https://t.me/stemme_test_bot?start={again['invite_code']}"
    assert again["revoked"] == 1
    assert len(fake_telegram.calls("getMe")) == 2  # once per command
    first, second = invites_of(telegram_env, added["participant_id"])
    assert first.revoked_at is not None and second.revoked_at is None
    assert (await run(capsys, "audit", "verify"))[1]["ok"] is True


async def test_the_username_setting_overrides_get_me(
    telegram_env: str, capsys: pytest.CaptureFixture[str], fake_telegram: FakeTelegramAPI,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STEMME_TELEGRAM_BOT_USERNAME", "kommunens_bot")
    case_id = await a_case(capsys)

    _, added = await run(capsys, "participant", "add", "--case", case_id, "--role", "child",
                         "--channel", "telegram")

    assert added["invite_url"] == f"https://t.me/kommunens_bot?start={added['invite_code']}"
    assert fake_telegram.calls("getMe") == []


async def test_a_bot_api_that_does_not_answer_leaves_the_code_without_a_link(
    telegram_env: str, capsys: pytest.CaptureFixture[str], fake_telegram: FakeTelegramAPI,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STEMME_TELEGRAM_TOKEN", "7000000001:AAWrongTokenForTests_0123456789ab")
    case_id = await a_case(capsys)

    code, added = await run(capsys, "participant", "add", "--case", case_id, "--role", "child",
                            "--channel", "telegram")

    assert code == 0 and added["invite_url"] is None and added["invite_code"]


async def test_a_new_web_chat_invite_ends_the_old_page_and_sms_gets_none(
    env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    case_id = await a_case(capsys)
    _, child = await run(capsys, "participant", "add", "--case", case_id, "--role", "child",
                         "--channel", "webchat")
    _, parent = await run(capsys, "participant", "add", "--case", case_id, "--role", "parent",
                          "--channel", "sms", "--phone", "12345678")

    code, again = await run(capsys, "participant", "invite", "--participant",
                            child["participant_id"])
    sms_code, refused = await run(capsys, "participant", "invite", "--participant",
                                  parent["participant_id"])

    assert code == 0 and again["revoked"] == 1
    assert again["invite_url"] == f"http://127.0.0.1:8080/chat/{again['invite_code']}"
    assert sms_code == 1 and "chat raters" in refused["message"]
