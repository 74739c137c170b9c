"""Storing inbound messages: one transaction for a batch, committed before the webhook answers."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session

from bot.channels.base import Inbound
from bot.channels.wire import inbound_to_dict
from storage.repo.inbox import Delivery, store_many
from storage.vault import Vault


def store_each(engine: Engine, vault: Vault, inbounds: list[Inbound]) -> list[str | None]:
    """Store every inbound message in one transaction: per message its new row id, or None.

    The commit happens before the webhook answers 2xx, so an acknowledged message survives a
    crash; a redelivered provider id stores nothing (None) and so is processed only once.
    """
    with Session(engine) as session:
        stored = store_many(session, vault, [
            Delivery(inbound.provider, inbound.provider_id, inbound_to_dict(inbound),
                     inbound.received_at) for inbound in inbounds])
        session.commit()
    return stored
