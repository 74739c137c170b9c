"""What was said: conversation state, item answers, free text and alerts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from storage.models.base import fk, id_field, sealed, ts


class Conversation(SQLModel, table=True):
    """The flow engine's state for one survey, sealed; never held in memory between inputs."""

    __tablename__ = "conversations"
    # "This person's running survey" is asked on every message and every survey start.
    # The sweep asks for active surveys past their reminder or expiry time: status first, so
    # finished conversations (the most, over the years) are never walked.
    __table_args__ = (Index("ix_conversations_participant_status", "participant_id", "status"),
                      Index("ix_conversations_status_remind", "status", "remind_at"),
                      Index("ix_conversations_status_expires", "status", "expires_at"))

    id: str = id_field()
    case_id: str = fk("cases.id")
    # Indexed by ix_conversations_participant_status (participant first); a second index
    # would only cost every insert. Status, remind_at and expires_at are likewise indexed
    # only in the composites above: every query on them names the person or the status.
    participant_id: str = fk("participants.id", index=False)
    prompt_id: str | None = Field(default=None, foreign_key="due_prompts.id", max_length=32)
    state: bytes | None = sealed()
    # active | completed | expired | stopped
    status: str = Field(default="active", max_length=20)
    version: int = 0  # optimistic lock: two processes never both advance one conversation
    started_at: datetime = ts(now=True)
    updated_at: datetime = ts(now=True)
    expires_at: datetime | None = ts(nullable=True)
    remind_at: datetime | None = ts(nullable=True)  # cleared once reminded

    def key_owner(self) -> tuple[str, str]:
        """Whose data key seals this row's fields."""
        return ("participant", self.participant_id)


class Answer(SQLModel, table=True):
    """One item answer; the score is sealed with the rater's key."""

    __tablename__ = "answers"

    id: str = id_field()
    case_id: str = fk("cases.id")
    participant_id: str = fk("participants.id")
    conversation_id: str | None = Field(
        default=None, foreign_key="conversations.id", max_length=32, index=True
    )
    rater_role: str = Field(max_length=20)
    instrument: str = Field(max_length=64)
    instrument_version: str = Field(max_length=16)
    item: str = Field(max_length=64)
    score: bytes | None = sealed()
    skipped: bool = False
    partial: bool = False
    answered_at: datetime = ts(index=True)

    def key_owner(self) -> tuple[str, str]:
        """Whose data key seals this row's fields."""
        return ("participant", self.participant_id)


class FreeText(SQLModel, table=True):
    """A free-text answer or comment, sealed with the writer's key."""

    __tablename__ = "free_texts"

    id: str = id_field()
    case_id: str = fk("cases.id")
    participant_id: str = fk("participants.id")
    conversation_id: str | None = Field(
        default=None, foreign_key="conversations.id", max_length=32
    )
    text: bytes | None = sealed()
    # comment: the answer to the free-text question; message: anything else the person wrote
    # that was not an answer (a botched rating, words mid-survey, a message outside a survey)
    kind: str = Field(default="comment", max_length=20)
    created_at: datetime = ts(now=True)

    def key_owner(self) -> tuple[str, str]:
        """Whose data key seals this row's fields."""
        return ("participant", self.participant_id)


class Alert(SQLModel, table=True):
    """A flag for the caseworker: safety, not on track, low session rating, divergence, missing."""

    __tablename__ = "alerts"

    id: str = id_field()
    case_id: str = fk("cases.id")
    participant_id: str | None = Field(
        default=None, foreign_key="participants.id", max_length=32, index=True
    )
    rule: str = Field(max_length=40)
    severity: str = Field(default="normal", max_length=20)  # urgent | high | normal
    detail: bytes | None = sealed()
    raised_at: datetime = ts(now=True, index=True)
    deadline_at: datetime | None = ts(nullable=True)
    notified_at: datetime | None = ts(nullable=True)
    escalated_at: datetime | None = ts(nullable=True)  # re-sent to the team address
    acknowledged_at: datetime | None = ts(nullable=True)
    acknowledged_by: str | None = Field(default=None, max_length=32)
    category: bytes | None = sealed()  # safety only: one of CONTRACT.md's category ids
    note: bytes | None = sealed()  # the acknowledging caseworker's note
    # The words that raised a safety alert (sealed with the writer's key, erased with them)
    free_text_id: str | None = Field(default=None, foreign_key="free_texts.id", max_length=32)
    # When the rule stopped holding (its spell ended); never set on safety alerts
    cleared_at: datetime | None = ts(nullable=True)

    def key_owner(self) -> tuple[str, str]:
        """Whose data key seals this row's fields."""
        return ("case", self.case_id)
