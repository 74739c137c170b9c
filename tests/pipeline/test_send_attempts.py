"""The operator's STEMME_SEND_MAX_ATTEMPTS decides when a message is given up."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session, select

from bot.channels.wire import message_to_dict
from bot.flows.messages import OutgoingMessage
from storage.models import OutboxMessage
from storage.repo import outbox_queue
from tests.fakes.server import Fault
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.twilio_api import FakeTwilioAPI
from tests.pipeline.harness import start_stemme, until


async def test_a_message_is_marked_failed_after_the_configured_number_of_tries(
    tmp_path: Path, db_url: str, fake_telegram: FakeTelegramAPI, fake_twilio: FakeTwilioAPI
) -> None:
    # Arrange: Twilio fails every time; the operator allows two tries.
    fake_twilio.inject(Fault.server_error(), times=None)
    app = await start_stemme(tmp_path, db_url, fake_telegram, fake_twilio,
                             send_max_attempts=2)
    try:
        app.make_case()
        parent_id, _ = app.add("parent", "sms", phone="+4520304050")
        with Session(app.rt.engine) as session:
            outbox_queue.enqueue(session, app.rt.vault, participant=app.participant(parent_id),
                           channel="sms", message=message_to_dict(OutgoingMessage("Hej")),
                           purpose="survey", key="attempts:1")
            session.commit()

        # Act: the running dispatcher tries, backs off (about 2 s) and tries again.
        app.services.dispatcher.wake.set()

        def given_up() -> bool:
            with Session(app.rt.engine) as session:
                row = session.exec(select(OutboxMessage)).one()
                return row.status == "failed"

        await until(given_up, timeout=15)

        # Assert
        with Session(app.rt.engine) as session:
            row = session.exec(select(OutboxMessage)).one()
        assert row.attempts == 2 and "gave up" in (row.last_error or "")
        assert len(fake_twilio.calls("Messages")) == 2
    finally:
        await app.client.close()
        app.rt.close()
