"""A user's password, their web sessions ending, and one-time password-reset links.

A reset link is a row of `web_sessions` that is born ended: `ended_at` is set when it is made,
so no cookie can ever open the dashboard with it, and `end_reason` says what it is —
`reset_link` while it can still be used, then `reset_used` (used once) or `reset_void` (a
newer link replaced it). `expires_at` is when it stops working; only its hash is stored.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from storage.models import User, WebSession
from storage.passwords import hash_password

RESET_OPEN = "reset_link"
RESET_USED = "reset_used"
RESET_VOID = "reset_void"


def set_password(session: Session, user: User, password: str) -> None:
    """Store a new argon2id hash for `user` (WeakPassword when too short)."""
    user.password_hash = hash_password(password)
    session.add(user)


def end_sessions(session: Session, user_id: str, *, now: datetime, reason: str,
                 keep_hash: str | None = None) -> int:
    """End a user's live web sessions, except the one whose token hash is `keep_hash`;
    returns how many ended."""
    query = update(WebSession).where(col(WebSession.user_id) == user_id,
                                     col(WebSession.ended_at).is_(None))
    if keep_hash is not None:
        query = query.where(col(WebSession.token_hash) != keep_hash)
    result = session.execute(query.values(ended_at=now, end_reason=reason))
    return int(getattr(result, "rowcount", 0) or 0)


def add_reset_link(session: Session, user_id: str, token_hash: str, *, now: datetime,
                   lifetime: timedelta) -> WebSession:
    """A new reset link for a user; their earlier links that were not used stop working."""
    session.execute(update(WebSession).where(col(WebSession.user_id) == user_id,
                                             col(WebSession.end_reason) == RESET_OPEN)
                    .values(end_reason=RESET_VOID))
    row = WebSession(token_hash=token_hash, user_id=user_id, created_at=now, last_seen_at=now,
                     expires_at=now + lifetime, ended_at=now, end_reason=RESET_OPEN)
    session.add(row)
    session.flush()
    return row


def open_reset_link(session: Session, token_hash: str, *, now: datetime) -> str | None:
    """The user id of a reset link that can still be used, or None (unknown, used, expired)."""
    row = session.exec(select(WebSession).where(WebSession.token_hash == token_hash)).first()
    if row is None or row.end_reason != RESET_OPEN or now >= row.expires_at:
        return None
    return row.user_id


def use_reset_link(session: Session, token_hash: str, *, now: datetime) -> str | None:
    """Spend a reset link once: its user id, or None when it cannot be used (any reason).

    One conditional UPDATE, so two requests racing with the same link cannot both spend it.
    """
    result = session.execute(
        update(WebSession).where(col(WebSession.token_hash) == token_hash,
                                 col(WebSession.end_reason) == RESET_OPEN,
                                 col(WebSession.expires_at) > now)
        .values(end_reason=RESET_USED, last_seen_at=now))
    if int(getattr(result, "rowcount", 0) or 0) != 1:
        return None
    row = session.exec(select(WebSession).where(WebSession.token_hash == token_hash)).one()
    return row.user_id
