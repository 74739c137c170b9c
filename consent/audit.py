"""The audit log: an append-only hash chain; `verify` names the first broken entry."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage.models import AuditEntry, utcnow

GENESIS = "0" * 64


def entry_hash(prev_hash: str, at: datetime, actor: str, action: str, target: str,
               detail: str) -> str:
    """SHA-256 over the previous hash and this entry's fields, in a canonical form."""
    body = json.dumps([prev_hash, at.isoformat(), actor, action, target, detail],
                      ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def append(session: Session, *, actor: str, action: str, target: str = "",
           detail: str = "", at: datetime | None = None) -> AuditEntry:
    """Add an entry chained to the newest one.

    `prev_hash` is unique, so two writers that read the same tail cannot both commit: the
    loser's transaction fails and is retried by the caller's unit of work.
    """
    at = at or utcnow()
    # The tail's hash only, one row: the ORM would otherwise load the whole log to take one.
    last = session.exec(select(AuditEntry.hash).order_by(col(AuditEntry.id).desc())
                        .limit(1)).first()
    prev = last if last else GENESIS
    entry = AuditEntry(at=at, actor=actor, action=action, target=target, detail=detail,
                       prev_hash=prev, hash=entry_hash(prev, at, actor, action, target, detail))
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True, slots=True)
class ChainReport:
    """The result of checking the chain."""

    ok: bool
    entries: int
    first_broken_id: int | None = None
    reason: str = ""


def verify(session: Session) -> ChainReport:
    """Walk the chain from the start; report the first entry whose hash or link is wrong."""
    prev = GENESIS
    count = 0
    for entry in session.exec(select(AuditEntry).order_by(col(AuditEntry.id))):
        count += 1
        if entry.prev_hash != prev:
            return ChainReport(False, count, entry.id, "its link to the previous entry is wrong "
                               "(an entry before it was removed or altered)")
        expected = entry_hash(prev, entry.at, entry.actor, entry.action, entry.target,
                              entry.detail)
        if entry.hash != expected:
            return ChainReport(False, count, entry.id, "its content does not match its hash "
                               "(the entry was edited)")
        prev = entry.hash
    return ChainReport(True, count)


__all__ = ["ChainReport", "IntegrityError", "append", "entry_hash", "verify"]
