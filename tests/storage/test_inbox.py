"""The durable inbox stores each provider message once, sealed, however often it arrives."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session, select

from storage.models import InboxMessage
from storage.repo.inbox import Delivery, open_payload, store_inbound, store_many
from storage.vault import Vault


def test_a_batch_stores_each_provider_id_once_the_first_delivery_winning(
        engine: Engine, vault: Vault) -> None:
    # Arrange: one id already stored; in the batch, another id arrives twice.
    with Session(engine) as session:
        earlier, created = store_inbound(session, vault, provider="sms", provider_id="SM1",
                                         payload={"text": "7"})
        session.commit()
    batch = [Delivery("sms", "SM1", {"text": "7 again"}), Delivery("sms", "SM2", {"text": "8"}),
             Delivery("sms", "SM2", {"text": "8 again"}), Delivery("telegram", "SM1", {"n": 1})]

    # Act
    with Session(engine) as session:
        stored = store_many(session, vault, batch)
        session.commit()

    # Assert
    assert created and stored[0] is None and stored[2] is None
    assert stored[1] is not None and stored[3] is not None
    with Session(engine) as session:
        rows = session.exec(select(InboxMessage)).all()
        assert len(rows) == 3
        texts = {r.provider_id + r.provider: open_payload(session, vault, r.id, r.payload or b"")
                 for r in rows}
    assert texts == {"SM1sms": {"text": "7"}, "SM2sms": {"text": "8"},
                     "SM1telegram": {"n": 1}}


def test_a_redelivery_gives_back_the_stored_row(engine: Engine, vault: Vault) -> None:
    with Session(engine) as session:
        first = store_inbound(session, vault, provider="sms", provider_id="SM9", payload={})
        again = store_inbound(session, vault, provider="sms", provider_id="SM9", payload={})
        session.commit()

    assert first[1] and not again[1] and again[0] == first[0]


def test_payloads_are_sealed_at_rest(engine: Engine, vault: Vault) -> None:
    with Session(engine) as session:
        [row_id] = store_many(session, vault, [Delivery("sms", "SM5", {"text": "hemmelig"})])
        session.commit()
        row = session.get(InboxMessage, row_id)

    assert row is not None and row.payload is not None and b"hemmelig" not in row.payload
