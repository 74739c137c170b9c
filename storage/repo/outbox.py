"""The outbox: messages written with the answers they follow, claimed and sent once."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from storage.models import OutboxMessage, Participant, new_id, table_of, utcnow
from storage.vault import Vault

_TABLE = table_of(OutboxMessage)
_INSERT = {
    postgres: (pg_insert if postgres else sqlite_insert)(_TABLE)
    .on_conflict_do_nothing(index_elements=["idempotency_key"]).returning(_TABLE.c.id)
    for postgres in (False, True)
}

# A claim older than this is taken to belong to a process that died; the row is retried.
LEASE = timedelta(minutes=2)


def enqueue(
    session: Session, vault: Vault, *, participant: Participant | None, channel: str,
    message: dict[str, Any], purpose: str, key: str, not_before: datetime | None = None,
    address: str | None = None,
) -> bool:
    """Queue a message unless one with this idempotency key exists; True when queued.

    The key is derived from what caused the message (conversation, step, index), so
    processing the same inbound message twice cannot queue its replies twice.
    """
    row_id, now = new_id(), utcnow()
    body: dict[str, Any] = {"message": message}
    if address is not None:
        body["address"] = address
    owner = ("participant", participant.id) if participant else ("system", "system")
    payload = vault.seal_value(session, table=OutboxMessage.__tablename__, column="payload",
                               row_id=row_id, owner=owner,
                               case_id=participant.case_id if participant else None,
                               value=json.dumps(body, ensure_ascii=False))
    values = {"id": row_id, "idempotency_key": key, "channel": channel, "purpose": purpose,
              "participant_id": participant.id if participant else None,
              "case_id": participant.case_id if participant else None, "payload": payload,
              "not_before": not_before or now, "status": "pending", "attempts": 0,
              "created_at": now}
    # Core with a statement built once: the sweep queues thousands of these per batch.
    statement = _INSERT[session.get_bind().dialect.name == "postgresql"]
    return session.connection().execute(statement, values).first() is not None


@dataclass(frozen=True, slots=True)
class Claimed:
    """A claimed outbox row with its opened payload."""

    id: str
    idempotency_key: str
    participant_id: str | None
    channel: str
    purpose: str
    attempts: int
    payload: dict[str, Any]


def claim(engine: Engine, vault: Vault, *, worker: str, now: datetime, limit: int = 50,
          channel: str | None = None) -> list[Claimed]:
    """Claim due rows for sending, atomically; each row goes to exactly one claimer.

    One UPDATE ... WHERE id IN (SELECT ...) AND <still claimable> RETURNING: a row another
    claimer took in the meantime no longer matches, and on PostgreSQL the inner SELECT skips
    rows locked by a concurrent claim (FOR UPDATE SKIP LOCKED).
    """
    claimable = or_(col(OutboxMessage.status) == "pending",
                    (col(OutboxMessage.status) == "sending")
                    & (col(OutboxMessage.claimed_at) < now - LEASE))
    with Session(engine, expire_on_commit=False) as session:
        due = select(OutboxMessage.id).where(claimable, col(OutboxMessage.not_before) <= now)
        if channel:
            due = due.where(OutboxMessage.channel == channel)
        due = due.order_by(col(OutboxMessage.not_before), col(OutboxMessage.created_at))
        due = due.limit(limit)
        if engine.dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        taken = session.execute(
            update(OutboxMessage).where(col(OutboxMessage.id).in_(due.scalar_subquery()),
                                        claimable)
            .values(status="sending", claimed_by=worker, claimed_at=now,
                    attempts=OutboxMessage.attempts + 1)
            .returning(col(OutboxMessage.id)))
        ids = [row[0] for row in taken]
        if not ids:
            session.commit()
            return []
        rows = session.exec(select(OutboxMessage).where(col(OutboxMessage.id).in_(ids))
                            .order_by(col(OutboxMessage.not_before),
                                      col(OutboxMessage.created_at))).all()
        out = [Claimed(r.id, r.idempotency_key, r.participant_id, r.channel, r.purpose,
                       r.attempts, json.loads(vault.open(session, r, "payload") or "{}"))
               for r in rows]
        session.commit()
        return out


def _finish(engine: Engine, row_id: str, **values: Any) -> None:
    with Session(engine) as session:
        session.execute(update(OutboxMessage).where(col(OutboxMessage.id) == row_id)
                        .values(**values))
        session.commit()


def mark_sent(engine: Engine, row_id: str, provider_message_id: str | None) -> None:
    """The provider accepted the message."""
    _finish(engine, row_id, status="sent", provider_message_id=provider_message_id,
            sent_at=utcnow(), last_error=None)


def mark_retry(engine: Engine, row_id: str, *, not_before: datetime, error: str) -> None:
    """Try again later (timeouts, 5xx, 429 retry_after)."""
    _finish(engine, row_id, status="pending", not_before=not_before, last_error=error[:200])


def mark_failed(engine: Engine, row_id: str, *, error: str, status: str = "failed") -> None:
    """Give up on the message ("failed") or drop it on purpose ("cancelled")."""
    _finish(engine, row_id, status=status, last_error=error[:200])


def mark_delivery(session: Session, provider_message_id: str, status: str,
                  error: str | None = None) -> OutboxMessage | None:
    """Apply a provider status callback (sent / delivered / undelivered / failed)."""
    row = session.exec(select(OutboxMessage).where(
        OutboxMessage.provider_message_id == provider_message_id)).first()
    if row is None:
        return None
    row.status = {"delivered": "delivered", "undelivered": "failed",
                  "failed": "failed"}.get(status, row.status)
    if error:
        row.last_error = error[:200]
    session.add(row)
    return row


def cancel_pending(session: Session, *, participant_id: str | None = None,
                   case_id: str | None = None, purposes: tuple[str, ...] | None = None) -> int:
    """Cancel queued messages of a participant or case (withdrawal, ended case)."""
    stmt = update(OutboxMessage).where(col(OutboxMessage.status) == "pending")
    if participant_id:
        stmt = stmt.where(col(OutboxMessage.participant_id) == participant_id)
    if case_id:
        stmt = stmt.where(col(OutboxMessage.case_id) == case_id)
    if purposes:
        stmt = stmt.where(col(OutboxMessage.purpose).in_(purposes))
    result = session.execute(stmt.values(status="cancelled", last_error="cancelled"))
    return int(result.rowcount)  # type: ignore[attr-defined]


def open_payload(session: Session, vault: Vault, row: OutboxMessage) -> dict[str, Any]:
    """The stored message and address of an outbox row."""
    text = vault.open(session, row, "payload")
    return json.loads(text) if text else {}
