"""Durable queues: every inbound message stored before it is acknowledged, every outbound once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.models.base import id_field, sealed, ts


class InboxMessage(SQLModel, table=True):
    """An inbound provider message; (provider, provider_id) makes redelivery a no-op."""

    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("provider", "provider_id", name="uq_inbox_provider_id"),
        Index("ix_inbox_status_received", "status", "received_at"),
    )

    id: str = id_field()
    provider: str = Field(max_length=20)
    provider_id: str = Field(max_length=80)
    payload: bytes | None = sealed()  # sealed with the system key: sender unknown until parsed
    status: str = Field(default="new", max_length=20)  # new | done | failed
    attempts: int = 0
    error: str | None = Field(default=None, max_length=200)
    received_at: datetime = ts(now=True)
    processed_at: datetime | None = ts(nullable=True)

    def key_owner(self) -> tuple[str, str]:
        """Whose data key seals this row's fields."""
        return ("system", "system")


class OutboxMessage(SQLModel, table=True):
    """An outbound message written with the answers it follows; sent by the dispatcher once."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_not_before", "status", "not_before"),)

    id: str = id_field()
    idempotency_key: str = Field(max_length=80, unique=True)
    case_id: str | None = Field(default=None, foreign_key="cases.id", max_length=32, index=True)
    participant_id: str | None = Field(
        default=None, foreign_key="participants.id", max_length=32, index=True
    )
    channel: str = Field(max_length=20)
    purpose: str = Field(default="survey", max_length=20)
    payload: bytes | None = sealed()
    # pending | sending | sent | delivered | failed | cancelled
    status: str = Field(default="pending", max_length=20)
    not_before: datetime = ts(now=True)
    attempts: int = 0
    provider_message_id: str | None = Field(default=None, max_length=80, index=True)
    last_error: str | None = Field(default=None, max_length=200)
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_at: datetime | None = ts(nullable=True)
    created_at: datetime = ts(now=True)
    sent_at: datetime | None = ts(nullable=True)

    def key_owner(self) -> tuple[str, str]:
        """Whose data key seals this row's fields."""
        if self.participant_id:
            return ("participant", self.participant_id)
        return ("system", "system")


class Notice(SQLModel, table=True):
    """An e-mail owed to staff about an alert (the urgent notice, the escalation to the team):
    due rows swept like the outbox, recorded sent only once the mail server took them."""

    __tablename__ = "notices"
    __table_args__ = (
        UniqueConstraint("alert_id", "kind", name="uq_notices_alert_kind"),
        Index("ix_notices_status_due", "status", "due_at"),
    )

    id: str = id_field()
    alert_id: str = Field(foreign_key="alerts.id", max_length=32)
    kind: str = Field(max_length=20)  # urgent | escalation
    # pending | sending | sent | cancelled | failed
    status: str = Field(default="pending", max_length=20)
    due_at: datetime = ts()
    attempts: int = 0
    claimed_at: datetime | None = ts(nullable=True)
    sent_at: datetime | None = ts(nullable=True)
    last_error: str | None = Field(default=None, max_length=200)
    created_at: datetime = ts(now=True)
