"""Urgent notices through a real SMTP server: to the caseworker at once, to the team when
nobody assessed the alert in time, never recorded sent before the server took them."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlmodel import Session, select

from storage.models import Alert, Case, Notice, User, utcnow
from storage.repo import alerts, notices
from tests.fakes.smtp import RecordingHandler, SmtpServer, free_port, smtp_server
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.twilio_api import FakeTwilioAPI
from tests.pipeline.harness import Stemme, start_stemme

__all__ = ["smtp_server"]
TEAM = "team@kommune.example"
ESCALATE_AFTER = timedelta(hours=2)


async def running(tmp_path: Path, db_url: str, tg: FakeTelegramAPI, tw: FakeTwilioAPI,
                  smtp_url: str) -> Stemme:
    app = await start_stemme(tmp_path, db_url, tg, tw, smtp_url=smtp_url,
                             digest_from="stemme@kommune.example", team_email=TEAM,
                             escalate_after="2h")
    app.make_case()
    return app


@pytest.fixture
async def stemme(tmp_path: Path, db_url: str, fake_telegram: FakeTelegramAPI,
                 fake_twilio: FakeTwilioAPI, smtp_server: SmtpServer) -> AsyncIterator[Stemme]:
    app = await running(tmp_path, db_url, fake_telegram, fake_twilio, smtp_server.url)
    yield app
    await app.client.close()
    app.rt.close()


def raise_alert(stemme: Stemme, at: datetime) -> str:
    """A child's safety alert as the conversation host raises it, with the configured times."""
    child, _ = stemme.add("child", "webchat")
    config = stemme.services.surveys.config
    with Session(stemme.rt.engine) as session:
        alert_id = alerts.raise_safety(session, stemme.rt.vault, case_id=stemme.case_id,
                                       participant_id=child, category="self_harm",
                                       free_text_id=None, now=at,
                                       deadline=config.urgent_deadline,
                                       escalate_after=config.escalate_after)
        session.commit()
    return alert_id


def caseworker(stemme: Stemme) -> User:
    with Session(stemme.rt.engine, expire_on_commit=False) as session:
        case = session.get(Case, stemme.case_id)
        assert case is not None
        user = session.get(User, case.caseworker_id)
        assert user is not None
        return user


def notice(stemme: Stemme, alert_id: str, kind: str) -> Notice:
    with Session(stemme.rt.engine, expire_on_commit=False) as session:
        return session.exec(select(Notice).where(Notice.alert_id == alert_id,
                                                 Notice.kind == kind)).one()


def alert_row(stemme: Stemme, alert_id: str) -> Alert:
    with Session(stemme.rt.engine, expire_on_commit=False) as session:
        row = session.get(Alert, alert_id)
        assert row is not None
        return row


def body(server: SmtpServer, n: int) -> str:
    return "\n".join(part.get_content() for part in server.handler.received[n].message.walk()
                     if part.get_content_type() == "text/plain")


async def test_an_unacknowledged_alert_reaches_the_team_after_the_configured_time(
    stemme: Stemme, smtp_server: SmtpServer
) -> None:
    now = utcnow()
    alert_id = raise_alert(stemme, now)

    sent_now = await stemme.services.send_notices(now)
    before = await stemme.services.send_notices(now + ESCALATE_AFTER - timedelta(minutes=1))
    after = await stemme.services.send_notices(now + ESCALATE_AFTER + timedelta(minutes=1))

    assert stemme.services.surveys.config.escalate_after == ESCALATE_AFTER
    assert (sent_now, before, after) == (1, 0, 1)
    assert [m.rcpt_tos for m in smtp_server.handler.received] == [
        [caseworker(stemme).email], [TEAM]]
    assert "ikke vurderet" in str(smtp_server.handler.received[1].message["Subject"])
    assert f"/cases/{stemme.case_id}" in body(smtp_server, 1)
    row = alert_row(stemme, alert_id)
    assert (row.notified_at, row.escalated_at) == (now, now + ESCALATE_AFTER
                                                   + timedelta(minutes=1))


async def test_an_acknowledged_alert_is_not_escalated(
    stemme: Stemme, smtp_server: SmtpServer
) -> None:
    now = utcnow()
    alert_id = raise_alert(stemme, now)
    await stemme.services.send_notices(now)
    with Session(stemme.rt.engine) as session:
        alerts.acknowledge(session, stemme.rt.vault, alert_id=alert_id,
                           user_id=caseworker(stemme).id, note="Ringet til skolen",
                           now=now + timedelta(hours=1))
        session.commit()

    later = await stemme.services.send_notices(now + ESCALATE_AFTER * 3)

    assert later == 0
    assert [m.rcpt_tos for m in smtp_server.handler.received] == [[caseworker(stemme).email]]
    assert notice(stemme, alert_id, "escalation").status == "cancelled"
    assert alert_row(stemme, alert_id).escalated_at is None


async def test_a_deactivated_caseworkers_alert_goes_to_the_team_at_once(
    stemme: Stemme, smtp_server: SmtpServer
) -> None:
    with Session(stemme.rt.engine) as session:
        case = session.get(Case, stemme.case_id)
        user = session.get(User, case.caseworker_id if case else "")
        assert user is not None
        user.active = False
        session.add(user)
        session.commit()
    now = utcnow()
    raise_alert(stemme, now)

    sent = await stemme.services.send_notices(now)

    assert sent == 1
    (mail,) = smtp_server.handler.received
    assert mail.rcpt_tos == [TEAM]
    assert "uden aktiv sagsbehandler" in str(mail.message["Subject"])


async def test_deactivating_a_caseworker_sends_their_open_alerts_to_the_team_at_once(
    stemme: Stemme, smtp_server: SmtpServer
) -> None:
    # Arrange: the caseworker was told; the escalation waits its two hours.
    now = utcnow()
    alert_id = raise_alert(stemme, now)
    assert await stemme.services.send_notices(now) == 1
    worker = caseworker(stemme)

    # Act: an admin deactivates the caseworker a minute later.
    with Session(stemme.rt.engine) as session:
        user = session.get(User, worker.id)
        assert user is not None
        user.active = False
        session.add(user)
        hastened = notices.hasten_for_caseworker(session, worker.id,
                                                 now=now + timedelta(minutes=1))
        session.commit()
    sent = await stemme.services.send_notices(now + timedelta(minutes=1))

    # Assert: the team hears now, not after the escalation's wait.
    assert hastened == 1 and sent == 1
    assert [m.rcpt_tos for m in smtp_server.handler.received] == [[worker.email], [TEAM]]
    assert notice(stemme, alert_id, "escalation").status == "sent"


async def test_a_notice_the_server_refused_is_retried_later_and_only_then_recorded_sent(
    stemme: Stemme, smtp_server: SmtpServer
) -> None:
    now = utcnow()
    alert_id = raise_alert(stemme, now)
    smtp_server.handler.answers = ["451 try again later"]

    refused = await stemme.services.send_notices(now)
    waiting = notice(stemme, alert_id, "urgent")
    too_soon = await stemme.services.send_notices(now + timedelta(seconds=30))
    retried = await stemme.services.send_notices(waiting.due_at)

    assert (refused, too_soon, retried) == (0, 0, 1)
    assert (waiting.status, waiting.attempts, waiting.due_at) == (
        "pending", 1, now + notices.BACKOFF)
    assert waiting.last_error and "451" in waiting.last_error
    assert smtp_server.handler.attempts == 2 and len(smtp_server.handler.received) == 1
    assert notice(stemme, alert_id, "urgent").status == "sent"
    assert alert_row(stemme, alert_id).notified_at == waiting.due_at


@pytest.fixture
def smtp_port() -> Iterator[tuple[int, RecordingHandler, list[Controller]]]:
    """A port where no mail server listens yet; the test starts one there later."""
    started: list[Controller] = []
    handler = RecordingHandler()
    yield free_port(), handler, started
    for controller in started:
        controller.stop()


async def test_while_the_mail_server_is_down_the_notice_waits_and_is_never_recorded_sent(
    tmp_path: Path, db_url: str, fake_telegram: FakeTelegramAPI, fake_twilio: FakeTwilioAPI,
    smtp_port: tuple[int, RecordingHandler, list[Controller]]
) -> None:
    port, handler, started = smtp_port
    app = await running(tmp_path, db_url, fake_telegram, fake_twilio, f"smtp://127.0.0.1:{port}")
    try:
        now = utcnow()
        alert_id = raise_alert(app, now)

        down = [await app.services.send_notices(now + timedelta(minutes=m)) for m in (0, 5)]
        waiting = notice(app, alert_id, "urgent")
        started.append(Controller(handler, hostname="127.0.0.1", port=port))
        started[0].start()  # the server is back
        back = await app.services.send_notices(waiting.due_at)
    finally:
        await app.client.close()
        app.rt.close()

    assert down == [0, 0]
    assert (waiting.status, waiting.attempts) == ("pending", 2)
    assert waiting.due_at == now + timedelta(minutes=5) + notices.backoff(2)
    assert not (tmp_path / "data" / "outbox-mail").exists()  # no file pretends it went
    assert back == 1 and len(handler.received) == 1


class SilentSmtp:
    """A mail server that takes the connection and never says a word."""

    def __init__(self) -> None:
        self.connected = asyncio.Event()
        self.server: asyncio.Server | None = None
        self.port = 0

    async def __aenter__(self) -> SilentSmtp:
        async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connected.set()
            await reader.read()  # until the client gives up
            writer.close()

        self.server = await asyncio.start_server(hold, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()


async def test_a_mail_server_that_hangs_does_not_hold_up_the_survey_sweep(
    tmp_path: Path, db_url: str, fake_telegram: FakeTelegramAPI, fake_twilio: FakeTwilioAPI
) -> None:
    async with SilentSmtp() as silent:
        app = await running(tmp_path, db_url, fake_telegram, fake_twilio,
                            f"smtp://127.0.0.1:{silent.port}")
        try:
            services = app.services
            services.mail = dataclasses.replace(services.mail, notice_timeout=1.0)
            now = utcnow()
            alert_id = raise_alert(app, now)

            sending = asyncio.create_task(services.send_notices(now))
            await asyncio.wait_for(silent.connected.wait(), 10)
            await services.sweep_job()  # the due-prompt sweep runs while the mail hangs
            swept_while_hanging = not sending.done()
            sent = await sending
            waiting = notice(app, alert_id, "urgent")
        finally:
            await app.client.close()
            app.rt.close()

    assert swept_while_hanging
    assert sent == 0  # the one attempt was cut off by its timeout
    assert (waiting.status, waiting.attempts) == ("pending", 1)
    assert waiting.last_error and "Timeout" in waiting.last_error
