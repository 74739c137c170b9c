"""Dashboard sign-in state: web sessions, API tokens and failed sign-ins, secrets stored hashed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from storage.models.base import fk, id_field, ts


class WebSession(SQLModel, table=True):
    """A signed-in browser; the cookie holds a random token, the table only its SHA-256."""

    __tablename__ = "web_sessions"

    id: str = id_field()
    token_hash: str = Field(max_length=64, unique=True)
    user_id: str = fk("users.id")
    created_at: datetime = ts(now=True)
    last_seen_at: datetime = ts(now=True)
    expires_at: datetime = ts()  # the absolute end, however active the user is
    ended_at: datetime | None = ts(nullable=True)  # signed out, timed out or user deactivated
    # logout | idle | absolute | deactivated | password; a password-reset link is a row born
    # ended, reset_link until used (reset_used) or replaced (reset_void): storage/repo/credentials
    end_reason: str | None = Field(default=None, max_length=20)


class ApiToken(SQLModel, table=True):
    """A bearer token for the JSON API, acting as its user; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: str = id_field()
    user_id: str = fk("users.id")
    name: str = Field(max_length=80)
    token_hash: str = Field(max_length=64, unique=True)
    prefix: str = Field(max_length=12)  # the first characters, so a person can tell tokens apart
    created_by: str = Field(max_length=254)  # the e-mail of who created it (the user or an admin)
    created_at: datetime = ts(now=True)
    last_used_at: datetime | None = ts(nullable=True)
    revoked_at: datetime | None = ts(nullable=True)


class LoginAttempt(SQLModel, table=True):
    """One sign-in attempt for an account (keyed by a hash of the e-mail), for rate limiting."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_account_at", "account_key", "at"),)

    id: str = id_field()
    account_key: str = Field(max_length=64)  # SHA-256 of the lower-cased e-mail typed
    at: datetime = ts(now=True)
    outcome: str = Field(max_length=20)  # ok | failed | refused | throttled
