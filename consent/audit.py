"""The audit log: an append-only chain keyed with the audit key; `verify` names the first bad
entry.

Each entry's hash covers the previous entry's hash and its own fields. Entries written since
revision 0005 carry a sequence number without gaps and an HMAC under the audit key (from the
key file, never the database), so someone who can write the database but not read the key
file cannot rewrite an entry and recompute the chain after it. The entries from before are
plain SHA-256; the first keyed entry chains to them and so seals them. What the chain cannot
show alone, a deleted tail, the anchors show (consent/audit_anchors.py): the head, written
each day and at every verify to a file outside the database.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import weakref
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from consent.audit_anchors import Anchor
from storage.models import AuditEntry, utcnow

GENESIS = "0" * 64
KEY_ID = "a1"  # the audit key's id; a new key would get a new one
# pg_advisory_xact_lock's number for "the chain's head" (any fixed 64-bit value would do)
_HEAD_LOCK = 0x5354454D4D45  # "STEMME"

# engine -> audit key: bound once per process by the runtime, which holds the key file.
_KEYS: weakref.WeakKeyDictionary[Engine, bytes] = weakref.WeakKeyDictionary()


def bind_key(engine: Engine, key: bytes) -> None:
    """Key every entry appended through `engine` (and check keyed entries in `verify`)."""
    _KEYS[engine] = key


def _key_of(session: Session) -> bytes | None:
    bind = session.get_bind()
    return _KEYS.get(getattr(bind, "engine", bind))  # type: ignore[arg-type]


def entry_hash(prev_hash: str, at: datetime, actor: str, action: str, target: str,
               detail: str, *, seq: int | None = None, key: bytes | None = None) -> str:
    """The entry's hash: HMAC-SHA256 under `key` over the previous hash, the sequence number
    and the fields; without a key, SHA-256 over the previous hash and the fields (entries
    from before the audit key)."""
    if key is None:
        body = json.dumps([prev_hash, at.isoformat(), actor, action, target, detail],
                          ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(body.encode("utf-8")).hexdigest()
    body = json.dumps([prev_hash, seq, at.isoformat(), actor, action, target, detail],
                      ensure_ascii=False, separators=(",", ":"))
    return hmac.new(key, body.encode("utf-8"), hashlib.sha256).hexdigest()


def head(session: Session) -> Anchor | None:
    """The newest entry's sequence number and hash; None for an empty log."""
    row = session.exec(select(AuditEntry.seq, AuditEntry.hash)
                       .order_by(col(AuditEntry.seq).desc()).limit(1)).first()
    return Anchor(seq=int(row[0]), hash=row[1]) if row and row[0] is not None else None


def append(session: Session, *, actor: str, action: str, target: str = "",
           detail: str = "", at: datetime | None = None) -> AuditEntry:
    """Add an entry chained to the newest one.

    The chain's head is locked for the rest of the transaction first (PostgreSQL: an
    advisory lock; SQLite: its write lock), so concurrent writers queue instead of reading
    the same head and the loser failing on the unique `seq` and `prev_hash`, which stay as
    the last guard against a fork.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:lock)"), {"lock": _HEAD_LOCK})
    else:
        # A write that changes nothing takes SQLite's write lock now, before the head is
        # read, so a second writer waits (busy_timeout) instead of reading the same head.
        session.execute(text("UPDATE audit_log SET seq = seq WHERE 0 = 1"))
    at = at or utcnow()
    key = _key_of(session)
    last = head(session)
    prev, seq = (last.hash, last.seq + 1) if last else (GENESIS, 1)
    entry = AuditEntry(at=at, actor=actor, action=action, target=target, detail=detail,
                       seq=seq, key_id=KEY_ID if key else None, prev_hash=prev,
                       hash=entry_hash(prev, at, actor, action, target, detail, seq=seq,
                                       key=key))
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True, slots=True)
class ChainReport:
    """The result of checking the chain: `first_broken_seq` names the first bad entry (for a
    deleted tail, the first one missing)."""

    ok: bool
    entries: int
    first_broken_id: int | None = None
    reason: str = ""
    first_broken_seq: int | None = None
    head: Anchor | None = None


def _fault(entry: AuditEntry, prev: str, seq: int, keyed: bool, key: bytes | None,
           anchored: dict[int, str]) -> str:
    """What is wrong with `entry` as the `seq`th entry after `prev`; "" when nothing is."""
    if entry.seq != seq:
        return f"entry {seq} is missing (a gap in the sequence)"
    if entry.prev_hash != prev:
        return ("its link to the previous entry is wrong (an entry before it was removed or "
                "altered)")
    if entry.key_id is None and keyed:
        return "it is not keyed although an earlier entry is (it was rewritten)"
    if entry.key_id is not None and key is None:
        return "it is keyed and the audit key is not loaded (check the key file)"
    own = entry_hash(prev, entry.at, entry.actor, entry.action, entry.target, entry.detail,
                     seq=entry.seq, key=key if entry.key_id else None)
    if not hmac.compare_digest(entry.hash, own):
        return ("its content does not match its hash (the entry was edited, or the chain "
                "recomputed without the audit key)")
    if anchored.get(seq, entry.hash) != entry.hash:
        return ("it differs from the anchor written outside the database (it, or an entry "
                "before it, was rewritten and the chain recomputed)")
    return ""


def verify(session: Session, anchors: list[Anchor] | tuple[Anchor, ...] = ()) -> ChainReport:
    """Walk the chain from the start; report the first entry whose number, link or hash is
    wrong, or the first anchored entry that is gone or differs."""
    key = _key_of(session)
    anchored = {anchor.seq: anchor.hash for anchor in anchors}
    prev, seq, keyed = GENESIS, 0, False
    for entry in session.exec(select(AuditEntry).order_by(col(AuditEntry.seq),
                                                           col(AuditEntry.id))):
        seq += 1
        if fault := _fault(entry, prev, seq, keyed, key, anchored):
            return ChainReport(False, seq, entry.id, fault, seq)
        keyed = keyed or entry.key_id is not None
        prev = entry.hash
    last_anchored = max(anchored, default=0)
    if last_anchored > seq:
        return ChainReport(False, seq, None,
                           f"entries {seq + 1} to {last_anchored} were anchored outside the "
                           "database and are gone (the newest entries were deleted)", seq + 1)
    return ChainReport(True, seq, head=Anchor(seq=seq, hash=prev) if seq else None)


__all__ = ["ChainReport", "IntegrityError", "append", "bind_key", "entry_hash", "head",
           "verify"]
