"""Sign-in, web sessions, API tokens and the failed-sign-in limit, all stored server-side, hashed.

Tokens are 256-bit random values; the database keeps only their SHA-256, so a copy of the
database (or a backup) signs nobody in. The CSRF token of a web session is derived from the
session's own token, so it needs no storage and dies with the session.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from consent import audit
from storage.models import ApiToken, LoginAttempt, User, WebSession
from storage.passwords import verify_password
from storage.repo.users import user_by_email

WINDOW = timedelta(hours=1)  # the failed-sign-in limit counts over the last hour
TOKEN_PREFIX = "stm_"


def digest(token: str) -> str:
    """SHA-256 of a token as hex; enough for 256-bit random tokens (no guessing to slow down)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def account_key(email: str) -> str:
    """The key failed sign-ins are counted under: a hash of the e-mail as typed, lower-cased."""
    return digest("login:" + email.strip().lower())


def csrf_token(session_token: str) -> str:
    """The CSRF token of a web session: an HMAC of the session's own secret token."""
    return hmac.new(session_token.encode("utf-8"), b"stemme-csrf", hashlib.sha256).hexdigest()


def csrf_matches(expected: str, given: str | None) -> bool:
    """Constant-time comparison of CSRF tokens."""
    return bool(given) and hmac.compare_digest(expected, given or "")


Outcome = Literal["ok", "failed", "refused"]


@dataclass(frozen=True, slots=True)
class SignIn:
    """The result of a sign-in attempt; `token` is the new session's cookie value when ok."""

    outcome: Outcome
    user: User | None = None
    token: str | None = None


def recent_failures(session: Session, key: str, now: datetime) -> int:
    """Failed sign-ins for an account within the last hour."""
    return int(session.exec(select(func.count()).select_from(LoginAttempt).where(
        LoginAttempt.account_key == key, LoginAttempt.outcome == "failed",
        col(LoginAttempt.at) > now - WINDOW)).one())


def sign_in(session: Session, email: str, password: str, *, now: datetime,
            max_failures: int, lifetime: timedelta) -> SignIn:
    """Check a password (within the hourly failure limit) and open a web session when right.

    Over the limit the attempt is refused before the password is looked at, so even the right
    password does not get in until the hour has passed; refusals are not counted as failures,
    which lets the lock lift on its own.
    """
    key = account_key(email)
    if recent_failures(session, key, now) >= max_failures:
        session.add(LoginAttempt(account_key=key, at=now, outcome="refused"))
        return SignIn("refused")
    user = user_by_email(session, email)
    usable = user is not None and user.active
    # verify_password checks a dummy hash when there is no usable user: no timing oracle.
    ok = verify_password(user.password_hash if usable and user else None, password) and usable
    session.add(LoginAttempt(account_key=key, at=now, outcome="ok" if ok else "failed"))
    if not ok or user is None:
        return SignIn("failed")
    token = secrets.token_urlsafe(32)
    session.add(WebSession(token_hash=digest(token), user_id=user.id, created_at=now,
                           last_seen_at=now, expires_at=now + lifetime))
    audit.append(session, actor=user.email, action="user.sign_in", target=f"user:{user.id}",
                 at=now)
    return SignIn("ok", user, token)


def resolve_session(session: Session, token: str, *, now: datetime, idle: timedelta
                    ) -> tuple[User, WebSession] | None:
    """The user of a live session; ends the session when it has been idle or lived too long."""
    row = session.exec(select(WebSession).where(WebSession.token_hash == digest(token))).first()
    if row is None or row.ended_at is not None:
        return None
    reason = "absolute" if now >= row.expires_at else \
        "idle" if now - row.last_seen_at >= idle else None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        reason = reason or "deactivated"
    if reason:
        row.ended_at, row.end_reason = now, reason
        session.add(row)
        return None
    assert user is not None
    # Written at most once a minute: every page view need not be a database write.
    if now - row.last_seen_at >= timedelta(minutes=1):
        row.last_seen_at = now
        session.add(row)
    return user, row


def end_session(session: Session, token: str, *, now: datetime, reason: str = "logout") -> bool:
    """End a web session server-side (the cookie alone then opens nothing)."""
    row = session.exec(select(WebSession).where(WebSession.token_hash == digest(token))).first()
    if row is None or row.ended_at is not None:
        return False
    row.ended_at, row.end_reason = now, reason
    session.add(row)
    user = session.get(User, row.user_id)
    audit.append(session, actor=user.email if user else "unknown", action="user.sign_out",
                 target=f"user:{row.user_id}", at=now)
    return True


def end_all(session: Session, user_id: str, *, now: datetime, reason: str) -> None:
    """End every session and revoke every API token of a user (deactivation)."""
    session.execute(update(WebSession).where(col(WebSession.user_id) == user_id,
                                             col(WebSession.ended_at).is_(None))
                    .values(ended_at=now, end_reason=reason))
    session.execute(update(ApiToken).where(col(ApiToken.user_id) == user_id,
                                           col(ApiToken.revoked_at).is_(None))
                    .values(revoked_at=now))


def create_api_token(session: Session, user: User, *, name: str, created_by: str,
                     now: datetime) -> tuple[ApiToken, str]:
    """A new bearer token for `user`; the token is returned once and stored only as a hash."""
    name = name.strip()[:80] or "API"
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=name, token_hash=digest(token), prefix=token[:10],
                   created_by=created_by, created_at=now)
    session.add(row)
    session.flush()
    audit.append(session, actor=created_by, action="api_token.create",
                 target=f"user:{user.id}", detail=f"token={row.id}", at=now)
    return row, token


def resolve_api_token(session: Session, token: str, *, now: datetime) -> User | None:
    """The active user a bearer token belongs to, or None (unknown, revoked, deactivated)."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        return None
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == digest(token))).first()
    if row is None or row.revoked_at is not None:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    if row.last_used_at is None or now - row.last_used_at >= timedelta(minutes=1):
        row.last_used_at = now
        session.add(row)
    return user


def tokens_of(session: Session, user_id: str) -> list[ApiToken]:
    """A user's tokens, newest first (revoked ones included, for the record)."""
    return list(session.exec(select(ApiToken).where(ApiToken.user_id == user_id)
                             .order_by(col(ApiToken.created_at).desc())).all())


def revoke_api_token(session: Session, token_id: str, *, owner: User, actor: User,
                     now: datetime) -> bool:
    """Revoke one of `owner`'s tokens; admins may revoke anyone's."""
    row = session.get(ApiToken, token_id)
    if row is None or (row.user_id != owner.id and actor.role != "admin"):
        return False
    if row.revoked_at is None:
        row.revoked_at = now
        session.add(row)
        audit.append(session, actor=actor.email, action="api_token.revoke",
                     target=f"user:{row.user_id}", detail=f"token={row.id}", at=now)
    return True
