"""The inbox writer as a process of its own: it is apart, it is replaced when it dies."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlmodel import Session

from bot.runtime.writer import ProcessWriter
from storage.models import InboxMessage, Participant, utcnow
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.twilio_api import FakeTwilioAPI
from tests.pipeline.harness import Stemme, serving

PHONE = "+4520304050"


@pytest.fixture
async def stemme(tmp_path: Path, db_url: str, fake_telegram: FakeTelegramAPI,
                 fake_twilio: FakeTwilioAPI) -> AsyncIterator[Stemme]:
    async with serving(tmp_path, db_url, fake_telegram, fake_twilio, writer_process=True) as app:
        yield app


async def _parent_with_survey(stemme: Stemme) -> str:
    parent, _ = stemme.add("parent", "sms", phone=PHONE)
    with Session(stemme.rt.engine) as session:
        stemme.services.surveys.start(session, session.get(Participant, parent), utcnow())
        session.commit()
    await stemme.settle()
    return parent


def _writer_pid(stemme: Stemme) -> int:
    writer = stemme.services.writer
    assert isinstance(writer, ProcessWriter)
    return writer.pid


async def _gone(pid: int, timeout: float = 10.0) -> bool:
    for _ in range(int(timeout / 0.05)):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        await asyncio.sleep(0.05)
    return False


async def test_the_writer_process_stores_and_processes_apart_from_the_server(
    stemme: Stemme, fake_twilio: FakeTwilioAPI
) -> None:
    parent = await _parent_with_survey(stemme)

    assert await stemme.post_sms("7 6 8 9", PHONE, sid="SM" + "1" * 32) == 200
    await stemme.settle()

    assert _writer_pid(stemme) != os.getpid()
    assert [s for _, _, s in stemme.answers(parent)] == [7, 6, 8, 9]
    assert stemme.count(InboxMessage, status="done") == 1
    assert "Hvordan var mødet?" in fake_twilio.created(PHONE)[-1].params["Body"]  # next block


async def test_a_dead_writer_process_is_replaced_and_the_next_message_gets_through(
    stemme: Stemme, fake_twilio: FakeTwilioAPI
) -> None:
    parent = await _parent_with_survey(stemme)
    first = _writer_pid(stemme)

    os.kill(first, signal.SIGKILL)
    assert await _gone(first)
    status = await stemme.post_sms("7 6 8 9", PHONE, sid="SM" + "2" * 32)
    await stemme.settle()

    assert status == 200
    assert _writer_pid(stemme) not in (first, os.getpid())
    assert [s for _, _, s in stemme.answers(parent)] == [7, 6, 8, 9]
    assert stemme.count(InboxMessage, status="done") == 1
