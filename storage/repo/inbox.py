"""The durable inbox: store an inbound message once per provider id, before acknowledging it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from storage.models import InboxMessage, new_id, table_of, utcnow
from storage.vault import Vault

_TABLE = table_of(InboxMessage)
# Built once per dialect: building it per webhook cost more than running it.
_INSERT = {
    postgres: (pg_insert if postgres else sqlite_insert)(_TABLE)
    .on_conflict_do_nothing(index_elements=["provider", "provider_id"]).returning(_TABLE.c.id)
    for postgres in (False, True)
}


@dataclass(frozen=True)
class Delivery:
    """One inbound message as the provider delivered it, to store."""

    provider: str
    provider_id: str
    payload: dict[str, Any]
    received_at: datetime | None = None


def store_inbound(
    session: Session, vault: Vault, *, provider: str, provider_id: str, payload: dict[str, Any],
    received_at: datetime | None = None,
) -> tuple[str, bool]:
    """Insert unless (provider, provider_id) is stored already; returns (row id, newly stored)."""
    stored = store_many(session, vault, [Delivery(provider, provider_id, payload, received_at)])
    if stored[0] is not None:
        return stored[0], True
    existing = session.exec(select(InboxMessage.id).where(
        InboxMessage.provider == provider, InboxMessage.provider_id == provider_id)).one()
    return existing, False


def store_many(session: Session, vault: Vault,
               deliveries: Sequence[Delivery]) -> list[str | None]:
    """Insert each delivery unless its (provider, provider_id) is stored; new row id or None.

    INSERT ... ON CONFLICT DO NOTHING makes five concurrent deliveries of one update store one
    row on both SQLite and PostgreSQL, without a race between a check and an insert; the same
    id twice in one call is stored once, for the first.
    """
    rows: list[dict[str, Any]] = []
    ids: list[str] = []
    for delivery in deliveries:
        row_id = new_id()
        sealed = vault.seal_value(session, table=_TABLE.name, column="payload", row_id=row_id,
                                  owner=("system", "system"), case_id=None,
                                  value=json.dumps(delivery.payload, ensure_ascii=False))
        ids.append(row_id)
        rows.append({"id": row_id, "provider": delivery.provider,
                     "provider_id": delivery.provider_id, "payload": sealed, "status": "new",
                     "attempts": 0, "received_at": delivery.received_at or utcnow()})
    if not rows:
        return []
    statement = _INSERT[session.get_bind().dialect.name == "postgresql"]
    # RETURNING, not rowcount: a row back is the only portable proof that an insert won.
    # One statement for the lot (SQLAlchemy's "insertmanyvalues").
    won = set(session.connection().execute(statement, rows).scalars())
    return [row_id if row_id in won else None for row_id in ids]


def open_payload(session: Session, vault: Vault, row_id: str, blob: bytes) -> dict[str, Any]:
    """The stored provider payload of inbox row `row_id` (its sealed column, read plainly)."""
    text = vault.open_value(session, table=_TABLE.name, column="payload", row_id=row_id,
                            blob=blob)
    return json.loads(text) if text else {}


def pending(session: Session, *, limit: int = 100,
            older_than: datetime | None = None) -> list[InboxMessage]:
    """Stored but unprocessed messages, oldest first (start-up recovery and the sweep)."""
    query = select(InboxMessage).where(InboxMessage.status == "new")
    if older_than is not None:
        query = query.where(col(InboxMessage.received_at) <= older_than)
    return list(session.exec(query.order_by(col(InboxMessage.received_at)).limit(limit)).all())


def mark_done(session: Session, row: InboxMessage, *, error: str | None = None) -> None:
    """Processing finished (or failed for good); the payload is dropped, it is not needed."""
    row.status = "failed" if error else "done"
    row.error = error[:200] if error else None
    row.processed_at = utcnow()
    row.payload = None  # the answers are stored sealed elsewhere; keep no second copy
    session.add(row)
