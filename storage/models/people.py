"""Who takes part: dashboard users, cases, participants, goals and chat invites."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from storage.models.base import fk, id_field, sealed, ts


class User(SQLModel, table=True):
    """Someone who signs in to the dashboard (staff data, not encrypted)."""

    __tablename__ = "users"

    id: str = id_field()
    email: str = Field(max_length=254, unique=True, index=True)
    role: str = Field(max_length=20)  # caseworker | leader | admin | provider
    team_id: str | None = fk("teams.id", nullable=True)  # at most one team (0007)
    provider_id: str | None = fk("provider_orgs.id", nullable=True)  # provider users (0007)
    password_hash: str | None = Field(default=None, max_length=255)
    active: bool = True
    created_at: datetime = ts(now=True)


class Case(SQLModel, table=True):
    """One child's case; the child's name and birth date are sealed with the case key."""

    __tablename__ = "cases"

    id: str = id_field()
    ref: str = Field(max_length=64, index=True)
    caseworker_id: str = fk("users.id")
    child_name: bytes | None = sealed()
    child_birth_date: bytes | None = sealed()
    provider_id: str | None = fk("provider_orgs.id", nullable=True)  # at most one (0007)
    cadence: str = Field(default="law-minimum", max_length=64)
    cadence_override: str | None = Field(default=None, max_length=200)  # "first 4w, every 6w"
    status: str = Field(default="open", max_length=20, index=True)  # open | closed | erased
    # The follow-up survey dates up to this day have their prompts; the planner goes on from it.
    followups_planned_through: date | None = Field(default=None, index=True)
    opened_at: datetime = ts(now=True)
    closed_at: datetime | None = ts(nullable=True)
    closed_reason: bytes | None = sealed()  # why it was closed, in the caseworker's words (0006)
    erased_at: datetime | None = ts(nullable=True)
    created_at: datetime = ts(now=True)

    def key_owner(self) -> tuple[str, str]:
        """Whose data key seals this row's fields."""
        return ("case", self.id)


class Participant(SQLModel, table=True):
    """A rater in a case: the child, a parent, a teacher; contact data sealed, looked up blind."""

    __tablename__ = "participants"
    __table_args__ = (Index("ix_participants_case_status", "case_id", "status"),)

    id: str = id_field()
    case_id: str = fk("cases.id")
    # child | parent | foster_parent | teacher | pedagogue | other
    role: str = Field(max_length=20)
    channel: str = Field(max_length=20)  # telegram | sms | webchat
    language: str = Field(default="da", max_length=5)
    name: bytes | None = sealed()
    phone: bytes | None = sealed()
    phone_index: str | None = Field(default=None, max_length=64, index=True)
    chat_id: bytes | None = sealed()
    chat_index: str | None = Field(default=None, max_length=64, index=True)
    birth_date: bytes | None = sealed()
    # active | withdrawn | unreachable | erased: the consent gate reads this at send time
    status: str = Field(default="active", max_length=20, index=True)
    contact_window: str | None = Field(default=None, max_length=100)  # "mon-fri 08:00-16:00"
    rates_sessions: bool = True  # takes part in sessions (vs. a parallel rater on a cadence)
    created_at: datetime = ts(now=True)
    erased_at: datetime | None = ts(nullable=True)

    def key_owner(self) -> tuple[str, str]:
        """Whose data key seals this row's fields."""
        return ("participant", self.id)


class Goal(SQLModel, table=True):
    """A goal in the child's own words (up to three per case)."""

    __tablename__ = "goals"

    id: str = id_field()
    case_id: str = fk("cases.id")
    position: int = Field(default=1, ge=1, le=3)
    text: bytes | None = sealed()
    active: bool = True
    created_at: datetime = ts(now=True)

    def key_owner(self) -> tuple[str, str]:
        """Whose data key seals this row's fields."""
        return ("case", self.case_id)


class Invite(SQLModel, table=True):
    """A single-use, expiring link token for a chat participant; only its hash is stored."""

    __tablename__ = "invites"

    id: str = id_field()
    participant_id: str = fk("participants.id")
    token_hash: str = Field(max_length=64, unique=True)
    expires_at: datetime = ts()
    used_at: datetime | None = ts(nullable=True)
    revoked_at: datetime | None = ts(nullable=True)  # a newer invite or a withdrawal ended it
    created_at: datetime = ts(now=True)
