"""Mail that leaves on its own: an urgent notice at once, the digest once a week.

The urgent notices' retries and escalation are specified in test_notices.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlmodel import Session, select

from reports.mailjobs import send_digests
from storage.models import Case, Participant, User, utcnow
from tests.fakes.smtp import SmtpServer, smtp_server
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.twilio_api import FakeTwilioAPI
from tests.fakes.webhooks import telegram_update
from tests.pipeline.harness import Stemme, serving, until

__all__ = ["smtp_server"]
CHAT = 7007


@pytest.fixture
async def stemme(tmp_path: Path, db_url: str, fake_telegram: FakeTelegramAPI,
                 fake_twilio: FakeTwilioAPI, smtp_server: SmtpServer) -> AsyncIterator[Stemme]:
    async with serving(tmp_path, db_url, fake_telegram, fake_twilio,
                       smtp_url=smtp_server.url, digest_from="stemme@kommune.example",
                       team_email="team@kommune.example") as app:
        yield app


def caseworker(stemme: Stemme) -> str:
    with Session(stemme.rt.engine) as session:
        return session.exec(select(User.email)).one()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_safety_hit_reaches_the_caseworker_at_once_without_words_or_names(
    stemme: Stemme, smtp_server: SmtpServer
) -> None:
    child, token = stemme.add("child", "telegram")
    await stemme.post_telegram(telegram_update("update_start", update_id=1,
                                               text=f"/start {token}", chat_id=CHAT))
    await stemme.settle()
    words = "jeg vil ikke leve mere"
    await stemme.post_telegram(telegram_update("update_message", update_id=2, text=words,
                                               chat_id=CHAT))
    await stemme.settle()

    # The alert wakes the notice sender: no sweep is waited for.
    await until(lambda: len(smtp_server.handler.received) >= 1)

    assert len(smtp_server.handler.received) == 1
    mail = smtp_server.handler.received[0]
    body = "\n".join(part.get_content() for part in mail.message.walk()
                     if part.get_content_type() in ("text/plain", "text/html"))
    assert mail.rcpt_tos == [caseworker(stemme)]
    assert f"/cases/{stemme.case_id}" in body
    for secret in ("Sofie", "leve", words):
        assert secret not in body and secret not in str(mail.message["Subject"])
    # The child got BørneTelefonen's number at once, and is asked whether to go on.
    last = [r.params["text"] for r in stemme.tg.sent_messages(CHAT)[-2:]]
    assert "116 111" in last[0] and "112" in last[0]


async def test_a_caseworker_whose_cases_are_all_closed_gets_no_digest(
    stemme: Stemme, smtp_server: SmtpServer
) -> None:
    stemme.add("child", "webchat")
    with Session(stemme.rt.engine) as session:
        case = session.get(Case, stemme.case_id)
        assert case is not None
        case.status, case.closed_at = "closed", utcnow()
        session.add(case)
        session.commit()

    sent = await send_digests(stemme.rt.engine, stemme.rt.vault, stemme.services.mailer,
                              stemme.services.mail, utcnow())

    assert sent == 0 and not smtp_server.handler.received


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_the_weekly_digest_goes_once_per_caseworker_even_from_two_processes(
    stemme: Stemme, smtp_server: SmtpServer
) -> None:
    stemme.add("child", "webchat")
    services = stemme.services
    now = utcnow()
    counts = await asyncio.gather(*(send_digests(stemme.rt.engine, stemme.rt.vault,
                                                 services.mailer, services.mail, now)
                                    for _ in range(2)))
    assert sorted(counts) == [0, 1]
    message = smtp_server.handler.received[0].message
    assert message["Subject"].startswith("Stemme: ugeoversigt uge")
    assert "Sofie" not in smtp_server.handler.received[0].raw.decode("utf-8", "replace")
    assert {p.get_content_type() for p in message.walk()} >= {"text/plain", "text/html"}
    with Session(stemme.rt.engine) as session:
        assert session.exec(select(Participant)).first() is not None


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_digest_the_mail_server_refused_is_retried_once_and_then_not_again(
    stemme: Stemme, smtp_server: SmtpServer
) -> None:
    # Arrange: the mail server refuses the first digest for good (no retries inside send).
    stemme.add("child", "webchat")
    services, now = stemme.services, utcnow()
    smtp_server.handler.answers = ["554 5.7.1 rejected"]

    # Act: the weekly run, then the hourly retry twice, then the weekly run again.
    weekly = await send_digests(stemme.rt.engine, stemme.rt.vault, services.mailer,
                                services.mail, now)
    retried = await send_digests(stemme.rt.engine, stemme.rt.vault, services.mailer,
                                 services.mail, now, retry=True)
    again = await send_digests(stemme.rt.engine, stemme.rt.vault, services.mailer,
                               services.mail, now, retry=True)
    weekly_again = await send_digests(stemme.rt.engine, stemme.rt.vault, services.mailer,
                                      services.mail, now)

    # Assert
    assert (weekly, retried, again, weekly_again) == (0, 1, 0, 0)
    assert len(smtp_server.handler.received) == 1
