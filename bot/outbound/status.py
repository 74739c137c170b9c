"""Delivery reports: the outbox row they are about is updated; Twilio's 21610 withdraws."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session

from bot.channels.base import Inbound
from consent.withdrawal import withdraw
from storage.models import Participant, utcnow
from storage.repo.outbox import mark_delivery


def apply_status(engine: Engine, inbound: Inbound) -> None:
    """Update the outbox row a status callback is about; 21610 (the number said STOP to
    Twilio) withdraws the person."""
    if not inbound.status_message_sid or not inbound.message_status:
        return
    with Session(engine) as session:
        row = mark_delivery(session, inbound.status_message_sid, inbound.message_status,
                            f"twilio:{inbound.error_code}" if inbound.error_code else None)
        if row is not None and inbound.error_code == 21610 and row.participant_id:
            person = session.get(Participant, row.participant_id)
            if person is not None and person.status != "withdrawn":
                withdraw(session, person, at=utcnow(), via="sms:21610",
                         recorded_by="provider:sms")
        session.commit()
