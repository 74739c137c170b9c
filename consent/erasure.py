"""Erasure per Danish archive law: export for the case system first, then crypto-shred.

Case data may not simply be deleted, so erasure (1) writes the ratings to a file for the case
system, then (2) destroys the data keys that sealed them. The sealed rows stay; nobody can read
them again. So that a copy of the database taken before the erasure (a backup) cannot be read
with the live keys either, the master key that wrapped the destroyed keys is replaced: every
surviving data key is re-wrapped under a new master key and the old one is removed from the
key file. (A backup of the key file from before the erasure can still open such a copy: keep
key-file backups apart and rotate them out as the README says.)
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, or_, update
from sqlmodel import Session, col, select

from consent import audit
from consent.withdrawal import cancel_everything
from storage.keys import KeyRing
from storage.models import Case, DataKey, Invite, Participant
from storage.vault import Vault


class ErasureError(Exception):
    """Erasure cannot go ahead; nothing was destroyed. The message says why."""


@dataclass(frozen=True, slots=True)
class ErasureReport:
    """What an erasure did."""

    target: str
    export_path: Path
    keys_destroyed: int
    master_key_id: str


def write_export(path: Path, document: dict[str, Any]) -> Path:
    """Write and fsync the export, so it is on disk before any key is destroyed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(document, fh, ensure_ascii=False, indent=2)
        fh.flush()
        os.fsync(fh.fileno())
    return path


def _forget_contact(session: Session, people: list[Participant], now: datetime) -> None:
    for person in people:
        person.phone_index = person.chat_index = None  # no lookup can find them again
        person.status, person.erased_at = "erased", now
        session.add(person)
    ids = [p.id for p in people]
    if ids:
        session.execute(delete(Invite).where(col(Invite.participant_id).in_(ids)))


def _replace_master(session: Session, vault: Vault, ring: KeyRing) -> str:
    """Re-wrap every live data key under a new master key and forget the old ones."""
    if ring.path is None:
        raise ErasureError("keys come from STEMME_KEYS: erasure must replace the master key, "
                           "which needs a key file (STEMME_KEY_FILE)")
    new = ring.rotate()
    vault.rewrap_all(session)
    session.flush()
    return new


def erase(session: Session, vault: Vault, *, case_id: str | None = None,
          participant_id: str | None = None, export: dict[str, Any], export_path: Path,
          actor: str, now: datetime) -> ErasureReport:
    """Erase a whole case or one participant, in the caller's transaction.

    The caller commits, then calls `retire_old_masters` so the old master keys leave the key
    file only once the re-wrapped data keys are safely in the database.
    """
    if (case_id is None) == (participant_id is None):
        raise ErasureError("give exactly one of a case or a participant")
    if participant_id:
        person = session.get(Participant, participant_id)
        if person is None:
            raise ErasureError(f"no participant {participant_id}")
        if person.status == "erased":
            raise ErasureError(f"participant {participant_id} is already erased")
        people, target = [person], f"participant:{participant_id}"
        keys = select(DataKey).where(DataKey.scope == "participant",
                                     DataKey.owner_id == participant_id)
    else:
        case = session.get(Case, case_id)
        if case is None:
            raise ErasureError(f"no case {case_id}")
        if case.status == "erased":
            raise ErasureError(f"case {case_id} is already erased")
        people = list(session.exec(select(Participant).where(Participant.case_id == case_id)))
        target = f"case:{case_id}"
        keys = select(DataKey).where(or_(col(DataKey.case_id) == case_id,
                                         (col(DataKey.scope) == "case")
                                         & (col(DataKey.owner_id) == case_id)))
    path = write_export(export_path, export)  # first: the case system gets its copy
    for person in people:
        cancel_everything(session, participant_id=person.id)
    _forget_contact(session, people, now)
    if case_id:
        session.execute(update(Case).where(col(Case.id) == case_id)
                        .values(status="erased", erased_at=now))
    destroyed = vault.destroy(session, session.exec(keys).all())
    master = _replace_master(session, vault, vault.ring)
    audit.append(session, actor=actor, action="erase", target=target,
                 detail=f"keys_destroyed={destroyed} master={master}", at=now)
    return ErasureReport(target, path, destroyed, master)


def retire_old_masters(ring: KeyRing) -> list[str]:
    """Remove every master key but the active one from the key file (after the commit)."""
    old = [kid for kid in ring.master_keys if kid != ring.active]
    for kid in old:
        ring.retire(kid)
    return old
