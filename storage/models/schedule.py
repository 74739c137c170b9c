"""When to ask: sessions (meetings) and due prompts with an indexed due time."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.models.base import fk, id_field, ts


class Meeting(SQLModel, table=True):
    """A session with a caseworker or provider after which ratings are asked."""

    __tablename__ = "sessions"

    id: str = id_field()
    case_id: str = fk("cases.id")
    starts_at: datetime = ts(index=True)
    minutes: int = Field(default=45, ge=1, le=24 * 60)
    series_id: str | None = Field(default=None, max_length=32, index=True)
    cancelled_at: datetime | None = ts(nullable=True)
    # Set once the planner has created this session's prompts (a NULL here is "to plan").
    planned_at: datetime | None = ts(nullable=True, index=True)
    created_at: datetime = ts(now=True)


class DuePrompt(SQLModel, table=True):
    """A survey to start for one participant at a due time; swept in batches, not one job each."""

    __tablename__ = "due_prompts"
    __table_args__ = (
        Index("ix_due_prompts_status_due", "status", "due_at"),
        UniqueConstraint("participant_id", "dedupe_key", name="uq_due_prompt_dedupe"),
    )

    id: str = id_field()
    case_id: str = fk("cases.id")
    # Indexed by uq_due_prompt_dedupe (participant first): no second index to keep up.
    participant_id: str = fk("participants.id", index=False)
    kind: str = Field(max_length=20)  # session | followup | adhoc | reminder
    session_id: str | None = Field(default=None, foreign_key="sessions.id", max_length=32)
    # What the prompt is for ("session:<id>", "followup:<date>", "adhoc:<id>"): planning the
    # same thing twice, from two processes or after a restart, inserts nothing new.
    dedupe_key: str = Field(max_length=120)
    due_at: datetime = ts()
    # pending | claimed | sent | answered | expired | stopped | declined | safety | replaced |
    # missed | cancelled (scheduler/prompts.py says which end counts as rated)
    status: str = Field(default="pending", max_length=20)
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_at: datetime | None = ts(nullable=True)
    conversation_id: str | None = Field(default=None, max_length=32, index=True)
    attempts: int = 0
    created_at: datetime = ts(now=True)
