"""Dashboard users: create and find caseworkers and admins."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from storage.models import ApiToken, User, WebSession
from storage.passwords import hash_password
from storage.repo.errors import Conflict, NotFound

ROLES = ("caseworker", "leader", "admin", "provider")


def create_user(session: Session, *, email: str, role: str, password: str | None) -> User:
    """A new user; the e-mail is stored lower-case and must be unique."""
    email = email.strip().lower()
    if "@" not in email:
        raise ValueError(f"{email!r} is not an e-mail address")
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    if session.exec(select(User).where(User.email == email)).first():
        raise Conflict(f"a user with e-mail {email} already exists")
    user = User(email=email, role=role,
                password_hash=hash_password(password) if password else None)
    session.add(user)
    session.flush()
    return user


def user_by_email(session: Session, email: str) -> User | None:
    """The user with this e-mail, or None."""
    return session.exec(select(User).where(User.email == email.strip().lower())).first()


def require_user(session: Session, email: str) -> User:
    """The user with this e-mail, or NotFound saying how to create one."""
    user = user_by_email(session, email)
    if user is None:
        raise NotFound(f"no user {email}; create one with: stemme user add --email {email} "
                       "--role caseworker")
    return user


def end_access(session: Session, user_id: str, *, now: datetime, reason: str) -> None:
    """End every web session and revoke every API token of a user (deactivation)."""
    session.execute(update(WebSession).where(col(WebSession.user_id) == user_id,
                                             col(WebSession.ended_at).is_(None))
                    .values(ended_at=now, end_reason=reason))
    session.execute(update(ApiToken).where(col(ApiToken.user_id) == user_id,
                                           col(ApiToken.revoked_at).is_(None))
                    .values(revoked_at=now))


def set_organisation(session: Session, user: User, *, team_id: str | None,
                     provider_id: str | None) -> None:
    """A user's team (at most one) and, for a provider user, their organisation."""
    user.team_id, user.provider_id = team_id, provider_id
    session.add(user)
    session.flush()
