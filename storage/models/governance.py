"""Who agreed, who did what, and the wrapped data keys that make erasure possible."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.models.base import fk, id_field, ts


class Consent(SQLModel, table=True):
    """One change to a contact agreement: given, withdrawn, resumed; append-only."""

    __tablename__ = "consents"

    id: str = id_field()
    participant_id: str = fk("participants.id")
    channel: str = Field(max_length=20)
    action: str = Field(max_length=20)  # given | declined | withdrawn | resumed
    given_by: str = Field(max_length=20)  # self | guardian
    age_at_time: int | None = None
    scope: str = Field(default="ratings,reminders", max_length=200)
    text_version: str = Field(default="1", max_length=80)  # e.g. consent.ask.child@da:<sha>
    language: str = Field(default="da", max_length=5)
    recorded_by: str = Field(max_length=80)  # "participant" (in chat) or a user's e-mail
    legal_basis: str | None = Field(default=None, max_length=200)
    created_at: datetime = ts(now=True, index=True)


class AuditEntry(SQLModel, table=True):
    """One audit-log entry; `hash` covers the entry and the previous entry's hash (keyed with
    the audit key when `key_id` is set, see consent/audit.py)."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    # 1, 2, 3, ... without gaps (ids may skip on PostgreSQL when a transaction rolls back)
    seq: int | None = Field(default=None, index=True, unique=True)
    key_id: str | None = Field(default=None, max_length=16)  # None: plain SHA-256 (before 0005)
    at: datetime = ts(now=True)
    actor: str = Field(max_length=120)
    action: str = Field(max_length=60)
    target: str = Field(default="", max_length=120)
    # Text: a list view names every case on it (0005; was 500 characters)
    detail: str = Field(default="", sa_type=Text)
    prev_hash: str = Field(max_length=64, unique=True)  # a fork in the chain cannot commit
    hash: str = Field(max_length=64, unique=True)


class Throttle(SQLModel, table=True):
    """A counter per (blind key, window): wrong invite tokens and replies to unknown senders."""

    __tablename__ = "throttles"

    key: str = Field(primary_key=True, max_length=64)  # HMAC of what is counted; no address
    window: str = Field(primary_key=True, max_length=20)  # e.g. the UTC day
    count: int = 0


class DataKey(SQLModel, table=True):
    """A data key for one case, participant or the system, wrapped by a master key."""

    __tablename__ = "data_keys"
    __table_args__ = (UniqueConstraint("scope", "owner_id", "version", name="uq_data_key_owner"),)

    id: str = Field(primary_key=True, max_length=40)  # the key id written into ciphertexts
    scope: str = Field(max_length=20)  # case | participant | system
    owner_id: str = Field(max_length=32, index=True)
    case_id: str | None = Field(default=None, max_length=32, index=True)
    version: int = 1
    active: bool = True
    master_key_id: str | None = Field(default=None, max_length=40)
    wrapped: bytes | None = None  # None once destroyed: the data it sealed is gone for good
    created_at: datetime = ts(now=True)
    destroyed_at: datetime | None = ts(nullable=True)
