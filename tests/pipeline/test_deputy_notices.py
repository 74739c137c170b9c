"""A deputy gets the absent caseworker's urgent alert mails while standing in, and not after."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session

from casework import organisation
from storage.models import utcnow
from storage.repo.users import create_user
from tests.fakes.smtp import SmtpServer, smtp_server
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.twilio_api import FakeTwilioAPI
from tests.pipeline.harness import Stemme
from tests.pipeline.test_notices import caseworker, raise_alert, running

__all__ = ["smtp_server"]
DEPUTY = "vikar@kommune.example"


@pytest.fixture
async def stemme(tmp_path: Path, db_url: str, fake_telegram: FakeTelegramAPI,
                 fake_twilio: FakeTwilioAPI, smtp_server: SmtpServer) -> AsyncIterator[Stemme]:
    app = await running(tmp_path, db_url, fake_telegram, fake_twilio, smtp_server.url)
    yield app
    await app.client.close()
    app.rt.close()


def stand_in(stemme: Stemme, *, days: int) -> None:
    """DEPUTY stands in for the case's caseworker from today for `days` days."""
    zone = stemme.rt.settings.zone
    today = utcnow().astimezone(zone).date()
    with Session(stemme.rt.engine) as session:
        create_user(session, email=DEPUTY, role="caseworker", password=None)
        organisation.add_deputy(session, actor="cli", for_email=caseworker(stemme).email,
                                deputy_email=DEPUTY, first_day=today,
                                last_day=today + timedelta(days=days - 1), zone=zone,
                                now=utcnow())
        session.commit()


async def test_the_deputy_is_told_of_an_urgent_alert_while_the_caseworker_is_away(
    stemme: Stemme, smtp_server: SmtpServer
) -> None:
    stand_in(stemme, days=7)
    now = utcnow()
    raise_alert(stemme, now)

    sent = await stemme.services.send_notices(now)

    assert sent == 1
    (mail,) = smtp_server.handler.received
    assert sorted(mail.rcpt_tos) == sorted([caseworker(stemme).email, DEPUTY])


async def test_after_the_deputys_last_day_only_the_caseworker_is_told(
    stemme: Stemme, smtp_server: SmtpServer
) -> None:
    stand_in(stemme, days=1)
    later = utcnow() + timedelta(days=2)
    raise_alert(stemme, later)

    sent = await stemme.services.send_notices(later)

    assert sent == 1
    assert [m.rcpt_tos for m in smtp_server.handler.received] == [[caseworker(stemme).email]]
