"""The durable inbox: store an inbound message once per provider id, before acknowledging it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, func, select

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


def pending_ids(session: Session, *, limit: int = 500,
                received_before: datetime | None = None) -> list[str]:
    """Stored but unprocessed messages, oldest first (start-up recovery and the sweep)."""
    query = select(InboxMessage.id).where(InboxMessage.status == "new")
    if received_before is not None:
        query = query.where(col(InboxMessage.received_at) <= received_before)
    return list(session.exec(query.order_by(col(InboxMessage.received_at)).limit(limit)).all())


# Read, then claimed: only one processor flips a row from "new", and in the same statement
# its payload goes (the answers are sealed elsewhere; keep no second copy).
_READ_MANY = select(_TABLE.c.id, _TABLE.c.payload).where(
    _TABLE.c.id.in_(bindparam("ids", expanding=True)), _TABLE.c.status == "new")
_TAKE_MANY = (update(_TABLE).where(_TABLE.c.id.in_(bindparam("ids", expanding=True)),
                                   _TABLE.c.status == "new")
              .values(status="done", processed_at=bindparam("at"), payload=None)
              .returning(_TABLE.c.id))


def take(session: Session, vault: Vault, ids: Sequence[str], *,
         now: datetime) -> dict[str, dict[str, Any]]:
    """Claim rows for processing in this transaction: their payloads, by id.

    Rows another processor took already are left out. The claim marks them done and drops
    their payload at once; a rollback (a crash) undoes both, so the row is found again.
    """
    connection = session.connection()
    blobs = {row.id: row.payload for row in connection.execute(_READ_MANY, {"ids": list(ids)})}
    readable = [row_id for row_id, blob in blobs.items() if blob]
    taken = set(connection.execute(_TAKE_MANY, {"ids": readable, "at": now}).scalars())
    return {row_id: open_payload(session, vault, row_id, blob)
            for row_id, blob in blobs.items() if row_id in taken and blob}


def count_failure(session: Session, row_id: str, error: str, *, max_attempts: int) -> None:
    """Processing failed: one more attempt counted; after `max_attempts` the row is "failed",
    kept for an operator and never silently dropped."""
    row = session.get(InboxMessage, row_id)
    if row is None:
        return
    row.attempts += 1
    row.error = error[:200]
    if row.attempts >= max_attempts:
        row.status = "failed"
    session.add(row)


def count_pending(session: Session) -> int:
    """Stored messages not processed yet (the backlog an operator watches)."""
    return int(session.exec(select(func.count()).select_from(InboxMessage)
                            .where(InboxMessage.status == "new")).one())
