"""The real sweep job with quiet hours: a reminder due at 21:30 goes at 08:00, the expiry after."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, time
from pathlib import Path

import pytest
from sqlmodel import Session, select

from scheduler.sweep import SweepConfig
from scheduler.windows import QuietHours
from storage.models import Conversation, OutboxMessage, Participant
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.twilio_api import FakeTwilioAPI
from tests.pipeline.harness import Stemme, serving

CPH = SweepConfig().zone


def local(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=CPH).astimezone(UTC)


@pytest.fixture
async def stemme(tmp_path: Path, db_url: str, fake_telegram: FakeTelegramAPI,
                 fake_twilio: FakeTwilioAPI) -> AsyncIterator[Stemme]:
    async with serving(tmp_path, db_url, fake_telegram, fake_twilio) as app:
        # The harness turns quiet hours off; these specs are about them: 20:00-08:00 as shipped.
        app.services.sweep_config = SweepConfig(zone=CPH, quiet=QuietHours(time(20), time(8)))
        yield app


def reminders(stemme: Stemme, pid: str) -> int:
    with Session(stemme.rt.engine) as session:
        return len(session.exec(select(OutboxMessage).where(
            OutboxMessage.participant_id == pid, OutboxMessage.purpose == "reminder")).all())


def conversation_of(stemme: Stemme, pid: str) -> Conversation:
    with Session(stemme.rt.engine) as session:
        found = session.exec(select(Conversation).where(
            Conversation.participant_id == pid)).one()
        return found


async def test_a_survey_started_at_half_past_nine_is_reminded_at_eight_and_expires_in_daytime(
    stemme: Stemme,
) -> None:
    # Arrange: the parent starts a survey at 21:30 on Thursday (they wrote in, say).
    parent, _ = stemme.add("parent", "sms", phone="+45 20 30 40 50")
    with Session(stemme.rt.engine) as session:
        stemme.services.surveys.start(session, session.get(Participant, parent),
                                      local(2026, 11, 19, 21, 30), trigger="reply")
        session.commit()

    # Act: the sweep job runs when the reminder falls due (Friday 21:30), before and at
    # 08:00 on Saturday.
    at_due = stemme.services.sweep(local(2026, 11, 20, 21, 30))
    before = stemme.services.sweep(local(2026, 11, 21, 7, 59))
    at_eight = stemme.services.sweep(local(2026, 11, 21, 8))

    # Assert: one reminder, at 08:00, none in the night.
    assert (at_due["reminded"], before["reminded"], at_eight["reminded"]) == (0, 0, 1)
    assert reminders(stemme, parent) == 1
    # The expiry (planned for Sunday 21:30) moved with the reminder, to Monday 08:00.
    assert stemme.services.sweep(local(2026, 11, 22, 21, 30))["expired"] == 0
    assert conversation_of(stemme, parent).status == "active"
    assert stemme.services.sweep(local(2026, 11, 23, 8))["expired"] == 1
    assert conversation_of(stemme, parent).status == "expired"
    assert reminders(stemme, parent) == 1
