"""Passwords: changing one's own, and an admin's one-time link to set a new one.

A reset link is a random 256-bit token, valid 24 hours and once, stored only as a hash
(storage/repo/credentials.py); a link that is wrong, used, replaced or expired is refused with
the same `reset_link` code, so the answer tells nobody which it was. Setting a password
either way ends the user's other web sessions; their API tokens are left alone (revoke those
on *API-nøgler*).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from casework.errors import Invalid
from casework.tokens import digest
from consent import audit
from storage.models import User
from storage.passwords import MIN_LENGTH, WeakPassword, verify_password
from storage.repo import credentials
from storage.repo.errors import Conflict

RESET_LIFETIME = timedelta(hours=24)
RESET_PATH = "/account/reset/"


def _hash(token: str) -> str:
    # Its own domain: a reset token's hash is never a session's or an API token's.
    return digest("password-reset:" + token)


def _check_new(new: str, repeat: str | None) -> None:
    if len(new) < MIN_LENGTH:
        raise Invalid("password", "password", minimum=MIN_LENGTH)
    if repeat is not None and new != repeat:
        raise Invalid("password_repeat", "repeat")


def _set(session: Session, user: User, new: str) -> None:
    try:
        credentials.set_password(session, user, new)
    except WeakPassword:
        raise Invalid("password", "password", minimum=MIN_LENGTH) from None


def change_password(session: Session, user: User, *, current: str, new: str,
                    repeat: str | None, keep_session: str | None, now: datetime) -> int:
    """Change one's own password; the other web sessions end; audited.

    `current` must be the password in force (`current_password`), `new` at least 12
    characters (`password`) and, when given, equal to `repeat` (`password_repeat`).
    `keep_session` is the token (cookie value) of the web session asking, which stays
    signed in. Returns how many other sessions ended.
    """
    if not user.active or not verify_password(user.password_hash, current):
        raise Invalid("current_password", "current")
    _check_new(new, repeat)
    _set(session, user, new)
    ended = credentials.end_sessions(session, user.id, now=now, reason="password",
                                     keep_hash=digest(keep_session) if keep_session else None)
    audit.append(session, actor=user.email, action="user.password_change",
                 target=f"user:{user.id}", detail=f"sessions_ended={ended}", at=now)
    return ended


@dataclass(frozen=True, slots=True)
class ResetLink:
    """A new reset link: `url` is shown once (it holds the token) and valid until `expires_at`."""

    url: str
    expires_at: datetime


def make_reset_link(session: Session, user: User, *, actor: str, public_url: str,
                    now: datetime) -> ResetLink:
    """A one-time link for `user` to set a new password (24 hours); audited.

    Their earlier unused links stop working. Conflict for a deactivated user (reactivate
    them first). The link works whether or not they have a password yet.
    """
    if not user.active:
        raise Conflict(f"{user.email} is deactivated; reactivate them first")
    token = secrets.token_urlsafe(32)
    row = credentials.add_reset_link(session, user.id, _hash(token), now=now,
                                     lifetime=RESET_LIFETIME)
    audit.append(session, actor=actor, action="user.password_reset_link",
                 target=f"user:{user.id}", detail=f"link={row.id}", at=now)
    return ResetLink(public_url.rstrip("/") + RESET_PATH + token, row.expires_at)


def reset_link_user(session: Session, token: str, *, now: datetime) -> User | None:
    """The active user a reset link can still set a password for, or None."""
    user_id = credentials.open_reset_link(session, _hash(token), now=now) \
        if 0 < len(token) <= 100 else None
    user = session.get(User, user_id) if user_id else None
    return user if user is not None and user.active else None


def reset_password(session: Session, token: str, *, new: str, repeat: str | None,
                   now: datetime) -> User:
    """Set a new password with a reset link; the link is then used, every session ends;
    audited. `reset_link` for a link that is wrong, used, replaced or expired, or whose user
    is deactivated; `password` / `password_repeat` for the new password (the link stays
    usable then)."""
    user = reset_link_user(session, token, now=now)
    if user is None:
        raise Invalid("reset_link", "token")
    _check_new(new, repeat)
    if credentials.use_reset_link(session, _hash(token), now=now) != user.id:
        raise Invalid("reset_link", "token")  # another request used it a moment ago
    _set(session, user, new)
    ended = credentials.end_sessions(session, user.id, now=now, reason="password")
    audit.append(session, actor=user.email, action="user.password_reset",
                 target=f"user:{user.id}", detail=f"sessions_ended={ended}", at=now)
    return user
