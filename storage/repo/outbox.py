"""The outbox: messages written with the answers they follow, claimed and sent once.

A row's `status`, with `claimed_by` / `claimed_at` saying who holds it since when::

    pending            queued; due at `not_before`
    pending + claim    claimed in a batch, not attempted yet (claimed_by / claimed_at set)
    sending            an attempt is under way: marked in its own commit right before the call
    sent               the provider accepted it (provider_message_id); then delivered | failed
    failed, cancelled  given up or rejected; dropped because the consent gate said no

    pending --claim--> pending + claim --begin_attempt--> sending --> sent | failed
                                                                  --> pending (retry later)
    pending + claim --> pending    released, CLAIM_LEASE lapsed, or its holder is known dead
    sending --> pending "unsure:"  its holder is known dead, or SEND_LEASE lapsed (a claim
                                   then takes it over directly)

A claim is a lease on a pending row rather than a status of its own, so everything that reads
"pending" as "queued, not sent" and "sending" as "may be in flight" stays right.

Only a row in "sending" is ambiguous after a crash: the provider may have accepted it before
the process died. Such a row comes back with `last_error` starting "unsure:", and the next
attempt asks the provider first where it can (Twilio can list what it sent; Telegram cannot,
so an unsure Telegram row is sent again: at least once, never silently dropped). A claimed row
was never attempted, so handing it to someone else is always safe.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Engine, bindparam, case, or_, update
from sqlmodel import Session, col, func, select

from storage.models import OutboxMessage, table_of, utcnow
from storage.vault import Vault

_TABLE = table_of(OutboxMessage)

# A batch claim not renewed for this long belongs to a process that died or hangs; its rows
# were never attempted, so another dispatcher may take them. A live dispatcher renews its
# claims every third of this while it works through a batch.
CLAIM_LEASE = timedelta(seconds=30)
# An attempt under way for this long is over: the dispatcher bounds every attempt (provider
# look-up plus send) well below it (DispatchConfig.attempt_timeout), so when it lapses the
# request is no longer in flight and asking the provider gives a final answer.
SEND_LEASE = timedelta(minutes=2)
# `last_error` prefix of a row whose last attempt may have reached the provider.
UNSURE = "unsure: "


@dataclass(frozen=True, slots=True)
class Claimed:
    """A claimed outbox row with its opened payload."""

    id: str
    idempotency_key: str
    participant_id: str | None
    channel: str
    purpose: str
    attempts: int  # attempts made so far (begin_attempt counts the next one)
    payload: dict[str, Any]
    created_at: datetime
    unsure: bool = False  # an earlier attempt may have reached the provider


def _claimable(now: datetime) -> ColumnElement[bool]:
    status, claimed_at = col(OutboxMessage.status), col(OutboxMessage.claimed_at)
    return or_((status == "pending")
               & (claimed_at.is_(None) | (claimed_at < now - CLAIM_LEASE)),
               (status == "sending") & (claimed_at < now - SEND_LEASE))


# Answers to someone who is writing to us go before new prompts: when the provider's limit
# binds, a child in the middle of a survey must not wait behind a sweep's backlog.
REPLIES = ("reply", "stop_confirmation")
_SEND_ORDER = (case((col(OutboxMessage.purpose).in_(REPLIES), 0), else_=1),
               col(OutboxMessage.not_before), col(OutboxMessage.created_at))


def claim(engine: Engine, vault: Vault, *, worker: str, now: datetime, limit: int = 50,
          channel: str | None = None) -> list[Claimed]:
    """Claim due rows for sending, atomically; each row goes to exactly one claimer.

    The due ids (on PostgreSQL locked, skipping rows a concurrent claim holds: FOR UPDATE
    SKIP LOCKED), then UPDATE ... WHERE id IN (them) AND <still claimable> RETURNING: a row
    another claimer took in the meantime no longer matches. A row taken over from an
    attempt that never finished ("sending" past its lease) is marked unsure in the same
    statement, since SET expressions still see the old status.
    """
    claimable = _claimable(now)
    status = col(OutboxMessage.status)
    with Session(engine, expire_on_commit=False) as session:
        due = select(OutboxMessage.id).where(claimable, col(OutboxMessage.not_before) <= now)
        if channel:
            due = due.where(OutboxMessage.channel == channel)
        due = due.order_by(*_SEND_ORDER).limit(limit)
        if engine.dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        # The due ids first, then the claim: as one UPDATE ... IN (SELECT ... LIMIT) PostgreSQL
        # may run the subquery more than once and claim past the limit. Locked (SKIP LOCKED)
        # or re-checked (`claimable`), no row goes to two claimers.
        due_ids = list(session.exec(due).all())
        if not due_ids:
            session.commit()
            return []
        taken = session.execute(
            update(OutboxMessage).where(col(OutboxMessage.id).in_(due_ids), claimable)
            .values(status="pending", claimed_by=worker, claimed_at=now,
                    last_error=case((status == "sending", UNSURE + "interrupted"),
                                    else_=col(OutboxMessage.last_error)))
            .returning(col(OutboxMessage.id)))
        ids = [row[0] for row in taken]
        if not ids:
            session.commit()
            return []
        rows = session.exec(select(OutboxMessage).where(col(OutboxMessage.id).in_(ids))
                            .order_by(*_SEND_ORDER)).all()
        out = [Claimed(r.id, r.idempotency_key, r.participant_id, r.channel, r.purpose,
                       r.attempts, json.loads(vault.open(session, r, "payload") or "{}"),
                       r.created_at, (r.last_error or "").startswith(UNSURE))
               for r in rows]
        session.commit()
        return out


def _held_by(worker: str) -> ColumnElement[bool]:
    """Rows `worker` claimed and has not attempted yet."""
    return (col(OutboxMessage.status) == "pending") & (col(OutboxMessage.claimed_by) == worker)


def begin_attempt(engine: Engine, row_id: str, *, worker: str, now: datetime) -> int | None:
    """Mark a claimed row "sending", in its own commit, right before the provider call.

    Returns the attempt number, or None when the row is no longer `worker`'s to send (its
    claim lapsed and another dispatcher took it, or a withdrawal cancelled it).
    """
    with Session(engine) as session:
        attempt = begin_attempt_in(session, row_id, worker=worker, now=now)
        session.commit()
        return attempt


_BEGIN = (update(_TABLE)
          .where(_TABLE.c.id == bindparam("row_id"), _TABLE.c.status == "pending",
                 _TABLE.c.claimed_by == bindparam("worker"))
          .values(status="sending", claimed_at=bindparam("at"),
                  attempts=_TABLE.c.attempts + 1)
          .returning(_TABLE.c.attempts))


def begin_attempt_in(session: Session, row_id: str, *, worker: str,
                     now: datetime) -> int | None:
    """`begin_attempt` inside the caller's transaction (which must commit before the call)."""
    result = session.connection().execute(
        _BEGIN, {"row_id": row_id, "worker": worker, "at": now}).first()
    return None if result is None else int(result[0])


def release(engine: Engine, row_ids: Iterable[str], *, worker: str,
            not_before: datetime | None = None) -> int:
    """Give claimed, never attempted rows back (optionally not before a time); safe to resend.

    `last_error` is left alone, so a row that was unsure stays unsure.
    """
    ids = list(row_ids)
    if not ids:
        return 0
    values: dict[str, Any] = {"claimed_by": None, "claimed_at": None}
    if not_before is not None:
        values["not_before"] = not_before
    with Session(engine) as session:
        result = session.execute(
            update(OutboxMessage).where(col(OutboxMessage.id).in_(ids), _held_by(worker))
            .values(**values))
        session.commit()
        return int(result.rowcount)  # type: ignore[attr-defined]


def renew(engine: Engine, *, worker: str, now: datetime, channel: str | None = None) -> int:
    """Extend `worker`'s batch claims: it is alive and still working through them."""
    stmt = update(OutboxMessage).where(_held_by(worker))
    if channel:
        stmt = stmt.where(col(OutboxMessage.channel) == channel)
    with Session(engine) as session:
        result = session.execute(stmt.values(claimed_at=now))
        session.commit()
        return int(result.rowcount)  # type: ignore[attr-defined]


def holders(engine: Engine) -> list[str]:
    """Who holds rows right now (claimed or sending), for spotting holders that died."""
    status = col(OutboxMessage.status)
    with Session(engine) as session:
        return [h for h in session.exec(
            select(OutboxMessage.claimed_by).where(status.in_(("pending", "sending")),
                                                   col(OutboxMessage.claimed_by).is_not(None))
            .distinct()).all() if h]


def recover(engine: Engine, worker: str) -> tuple[int, int]:
    """Take back everything a dead holder had; returns (released, interrupted).

    Only call this for a holder known to be gone: its claimed rows are free at once, and its
    "sending" rows become pending marked unsure (that attempt's outcome is unknown).
    """
    free = {"claimed_by": None, "claimed_at": None}
    with Session(engine) as session:
        released = session.execute(update(OutboxMessage).where(_held_by(worker)).values(free))
        interrupted = session.execute(
            update(OutboxMessage).where(col(OutboxMessage.status) == "sending",
                                        col(OutboxMessage.claimed_by) == worker)
            .values(status="pending", last_error=UNSURE + "interrupted", **free))
        session.commit()
        return (int(released.rowcount),  # type: ignore[attr-defined]
                int(interrupted.rowcount))  # type: ignore[attr-defined]


def known_provider_ids(engine: Engine, provider_ids: Iterable[str]) -> set[str]:
    """Which of these provider message ids some outbox row already owns."""
    ids = list(provider_ids)
    if not ids:
        return set()
    with Session(engine) as session:
        return {p for p in session.exec(
            select(OutboxMessage.provider_message_id)
            .where(col(OutboxMessage.provider_message_id).in_(ids))).all() if p}


def _run(bind: Engine | Session, stmt: Any, params: dict[str, Any] | None = None) -> int:
    """Rows a statement changed: in the caller's session, or in a commit of its own."""
    if isinstance(bind, Session):
        return int(bind.execute(stmt, params).rowcount)  # type: ignore[attr-defined]
    with Session(bind) as session:
        changed = int(session.execute(stmt, params).rowcount)  # type: ignore[attr-defined]
        session.commit()
        return changed


def mark_sent(bind: Engine | Session, row_id: str, provider_message_id: str | None,
              *, worker: str | None = None) -> bool:
    """The provider accepted the message; False when the row had already been finished.

    With `worker` the row may be held by anyone, or be pending again: a message the provider
    accepted is recorded whoever holds the row now, so even a late answer prevents a resend.
    """
    stmt = _SENT_UNFINISHED if worker is not None else _SENT
    return bool(_run(bind, stmt, {"row_id": row_id, "sid": provider_message_id,
                                  "at": utcnow()}))


_SENT = (update(_TABLE).where(_TABLE.c.id == bindparam("row_id"))
         .values(status="sent", provider_message_id=bindparam("sid"), sent_at=bindparam("at"),
                 last_error=None))
_SENT_UNFINISHED = _SENT.where(_TABLE.c.status.in_(("pending", "sending")))


def _finish(bind: Engine | Session, row_id: str, worker: str | None, state: str,
            **values: Any) -> bool:
    stmt = update(OutboxMessage).where(col(OutboxMessage.id) == row_id)
    if worker is not None:
        # Only the holder decides, and only while it holds the row: a holder that stalled past
        # its lease must not overwrite what the dispatcher that took over has done.
        stmt = stmt.where(col(OutboxMessage.claimed_by) == worker,
                          col(OutboxMessage.status) == state)
    return bool(_run(bind, stmt.values(**values)))


def mark_retry(bind: Engine | Session, row_id: str, *, not_before: datetime, error: str,
               unsure: bool = False, worker: str | None = None) -> bool:
    """Try again later (timeouts, 5xx, 429 retry_after); `unsure` when it may have gone out."""
    error = (UNSURE + error) if unsure else error
    return _finish(bind, row_id, worker, "sending", status="pending", not_before=not_before,
                   last_error=error[:200], claimed_by=None, claimed_at=None)


def mark_failed(bind: Engine | Session, row_id: str, *, error: str, status: str = "failed",
                worker: str | None = None) -> bool:
    """Give up on the message ("failed", after an attempt) or drop it on purpose ("cancelled",
    before one)."""
    return _finish(bind, row_id, worker, "sending" if status == "failed" else "pending",
                   status=status, last_error=error[:200])


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


def pending_by_channel(session: Session) -> dict[str, int]:
    """Messages waiting to go (pending or being sent), per channel."""
    rows = session.exec(select(OutboxMessage.channel, func.count())
                        .where(col(OutboxMessage.status).in_(("pending", "sending")))
                        .group_by(OutboxMessage.channel)).all()
    return {channel: int(count) for channel, count in rows}
