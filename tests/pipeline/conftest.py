"""Fixtures for pipeline tests: a case with linked participants, channels on fake providers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from bot.channels.sms.channel import TwilioSmsChannel
from bot.channels.telegram.channel import TelegramChannel
from consent import agreements
from storage.blind_index import BlindIndex
from storage.models import Participant, utcnow
from storage.repo import cases
from storage.repo.users import create_user
from storage.vault import Vault
from tests.fakes.fixtures import (
    fake_telegram,
    fake_twilio,
    sms_channel,
    telegram_channel,
)
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.twilio_api import FakeTwilioAPI
from tests.pipeline.harness import Stemme, serving

__all__ = ["fake_telegram", "fake_twilio"]


@dataclass
class World:
    """One open case: a 12-year-old on Telegram (chat 4242) and a parent on SMS."""

    engine: Engine
    vault: Vault
    index: BlindIndex
    case_id: str
    child_id: str
    parent_id: str
    chat_id: int = 4242
    parent_phone: str = "+4520304050"

    def participant(self, session: Session, pid: str) -> Participant:
        person = session.get(Participant, pid)
        assert person is not None
        return person


def build_world(engine: Engine, vault: Vault, index: BlindIndex, *, agreed: bool = True,
                child_count: int = 1, email: str = "cw@example.org") -> World:
    """Create the case; with `agreed`, the guardian, the child and the parent said yes."""
    now = utcnow()
    with Session(engine, expire_on_commit=False) as session:
        worker = create_user(session, email=email, role="caseworker", password=None)
        case = cases.create_case(session, vault, ref="K-1", child_name="Sofie",
                                 birth_date=date(2014, 5, 31), caseworker_id=worker.id)
        child = cases.add_participant(session, vault, index, case=case, role="child",
                                      channel="telegram")
        cases.link_chat(session, vault, index, child, 4242)
        parent = cases.add_participant(session, vault, index, case=case, role="parent",
                                       channel="sms", phone="+45 20 30 40 50")
        if agreed:
            agreements.record(session, child, action="given", given_by="guardian",
                              recorded_by="cw@example.org", at=now, age_at_time=12)
            agreements.record(session, child, action="given", given_by="self",
                              recorded_by="participant", at=now, age_at_time=12)
            agreements.record(session, parent, action="given", given_by="self",
                              recorded_by="participant", at=now)
        session.commit()
        return World(engine, vault, index, case.id, child.id, parent.id)


@pytest.fixture
def world(engine: Engine, vault: Vault, index: BlindIndex) -> World:
    """A case whose participants all agreed to contact."""
    return build_world(engine, vault, index)


@pytest.fixture
async def telegram(fake_telegram: FakeTelegramAPI) -> AsyncIterator[TelegramChannel]:
    """The real Telegram adapter talking to the fake Bot API."""
    async with telegram_channel(fake_telegram, 2.0) as channel:
        yield channel


@pytest.fixture
async def sms(fake_twilio: FakeTwilioAPI) -> AsyncIterator[TwilioSmsChannel]:
    """The real Twilio adapter talking to the fake Twilio API."""
    async with sms_channel(fake_twilio, 2.0) as channel:
        yield channel


@pytest.fixture
async def stemme(tmp_path: Path, db_url: str, fake_telegram: FakeTelegramAPI,
                 fake_twilio: FakeTwilioAPI) -> AsyncIterator[Stemme]:
    """The whole app serving on the fakes, with one case; modules that need other settings
    define their own `stemme` through `serving`."""
    async with serving(tmp_path, db_url, fake_telegram, fake_twilio) as app:
        yield app
