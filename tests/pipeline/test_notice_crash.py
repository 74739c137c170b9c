"""Crash safety of the urgent notice: a real `stemme serve` SIGKILLed after it claimed the
notice and before the mail server took it sends it after the restart, exactly once."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiosmtpd.controller import Controller
from sqlmodel import Session, select

from storage.blind_index import BlindIndex
from storage.db import make_engine
from storage.keys import KeyRing
from storage.migrate import upgrade
from storage.models import Alert, Notice, utcnow
from storage.repo import alerts, cases, notices
from storage.repo.users import create_user
from storage.vault import Vault
from tests.fakes.smtp import RecordingHandler, free_port
from tests.pipeline.test_fault import Server

CASEWORKER = "cw@kommune.example"


@dataclass
class KillOnFirstMail(RecordingHandler):
    """A mail server that, as the first message arrives, SIGKILLs the sender and takes nothing:
    the notice is claimed ("sending") and was never accepted."""

    kill: Callable[[], None] | None = None
    killed: bool = False
    arrived: list[float] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.arrived.append(time.monotonic())
        if not self.killed and self.kill is not None:
            self.killed = True
            self.kill()
            return "451 the sender is gone"
        return await super().handle_DATA(server, session, envelope)


def _populate(url: str, key_file: Path) -> str:
    """A caseworker's case with one safety alert whose urgent notice is due now."""
    engine = make_engine(url)
    upgrade(engine)
    vault = Vault(KeyRing.load(key_file))
    now = utcnow()
    with Session(engine, expire_on_commit=False) as session:
        worker = create_user(session, email=CASEWORKER, role="caseworker", password=None)
        case = cases.create_case(session, vault, ref="K-1", child_name="Sofie",
                                 birth_date=date(2014, 5, 31), caseworker_id=worker.id)
        child = cases.add_participant(session, vault, BlindIndex(vault.ring), case=case,
                                      role="child", channel="webchat")
        alert_id = alerts.raise_safety(session, vault, case_id=case.id, participant_id=child.id,
                                       category="suicide", free_text_id=None, now=now,
                                       deadline=timedelta(hours=24),
                                       escalate_after=timedelta(hours=4))
        session.commit()
    engine.dispose()
    return alert_id


def _urgent(url: str, alert_id: str) -> tuple[Notice, Alert]:
    engine = make_engine(url)
    try:
        with Session(engine, expire_on_commit=False) as session:
            notice = session.exec(select(Notice).where(Notice.alert_id == alert_id,
                                                       Notice.kind == "urgent")).one()
            alert = session.get(Alert, alert_id)
            assert alert is not None
            return notice, alert
    finally:
        engine.dispose()


def _as_if_minutes_passed(url: str, notice_id: str) -> None:
    """Arrange: the dead process's claim is older than the lease (no test waits minutes)."""
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            row = session.get(Notice, notice_id)
            assert row is not None and row.claimed_at is not None
            row.claimed_at -= notices.SEND_LEASE + timedelta(seconds=1)
            session.add(row)
            session.commit()
    finally:
        engine.dispose()


async def _until(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.1)


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_notice_claimed_by_a_killed_server_is_sent_after_the_restart_once(
    tmp_path: Path, db_url: str
) -> None:
    # Arrange: an alert whose urgent notice is due; a mail server that kills the sender.
    key_file = tmp_path / "keys.json"
    alert_id = await asyncio.to_thread(_populate, db_url, key_file)
    handler = KillOnFirstMail()
    port = free_port()
    smtp = Controller(handler, hostname="127.0.0.1", port=port)
    smtp.start()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STEMME_")}
    env.update(STEMME_DATABASE_URL=db_url, STEMME_KEY_FILE=str(key_file),
               STEMME_DATA_DIR=str(tmp_path / "data"), STEMME_QUIET_HOURS="",
               STEMME_SWEEP_SECONDS="1", STEMME_SMTP_URL=f"smtp://127.0.0.1:{port}",
               STEMME_DIGEST_FROM="stemme@kommune.example",
               STEMME_TEAM_EMAIL="team@kommune.example")
    log = tmp_path / "serve.log"
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
            # Act: the server claims the notice as it starts, and dies in the middle of
            # sending it; then it is started again.
            first = Server(env, tmp_path, log)
            handler.kill = first.kill
            await _until(lambda: handler.killed)
            claimed, _ = await asyncio.to_thread(_urgent, db_url, alert_id)
            await asyncio.to_thread(_as_if_minutes_passed, db_url, claimed.id)
            second = Server(env, tmp_path, log)
            try:
                await second.ready(http)
                await _until(lambda: len(handler.received) == 1)
                await asyncio.sleep(2.5)  # two more sweep intervals: nothing goes twice
            finally:
                code = second.stop()
    finally:
        smtp.stop()

    # Assert
    report = log.read_text(errors="replace")[-3000:]
    assert (claimed.status, claimed.sent_at) == ("sending", None), report
    notice, alert = await asyncio.to_thread(_urgent, db_url, alert_id)
    assert [m.rcpt_tos for m in handler.received] == [[CASEWORKER]], report
    assert len(handler.arrived) == 2  # the killed attempt and the one after the restart
    assert notice.status == "sent" and alert.notified_at is not None, report
    assert code == 0, report
