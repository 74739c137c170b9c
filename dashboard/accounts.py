"""Sign-in, web sessions, API tokens and the failed-sign-in limits, all stored server-side, hashed.

Tokens are 256-bit random values; the database keeps only their SHA-256, so a copy of the
database (or a backup) signs nobody in. The CSRF token of a web session is derived from the
session's own token, so it needs no storage and dies with the session. The sign-in limits
count in the database (`login_attempts` and the `throttles` counters), so every process
serving one database sees the same counts.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy import func
from sqlmodel import Session, col, select

from casework import tokens
from casework.tokens import TOKEN_PREFIX, digest
from consent import audit
from storage.models import ApiToken, LoginAttempt, User, WebSession
from storage.passwords import verify_password
from storage.repo.throttle import count, hit
from storage.repo.users import user_by_email

WINDOW = timedelta(hours=1)  # an account's failed sign-ins count for an hour
FREE_FAILURES = 5  # failures an account may have in the hour before a failing client waits
MAX_DELAY = timedelta(minutes=5)  # guessing stays slow; a colleague's typo stays cheap
QUARTER = timedelta(minutes=15)
CLIENT_LIMIT = 50  # failures per client address in 15 minutes: a town hall behind one NAT fits


def account_key(email: str) -> str:
    """The key failed sign-ins are counted under: a hash of the e-mail as typed, lower-cased."""
    return digest("login:" + email.strip().lower())


def client_key(secret: bytes, address: str) -> str:
    """The key a client address is counted under: an HMAC, so no address is stored.

    IPv6 clients are counted per /64, the block one subscriber is given: a client could
    otherwise take a fresh address for every try.
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        subject = address
    else:
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        subject = str(ipaddress.ip_network(f"{ip}/64", strict=False)) \
            if isinstance(ip, ipaddress.IPv6Address) else str(ip)
    return hmac.new(secret, ("sign-in client:" + subject).encode(), hashlib.sha256).hexdigest()


def csrf_token(session_token: str) -> str:
    """The CSRF token of a web session: an HMAC of the session's own secret token."""
    return hmac.new(session_token.encode("utf-8"), b"stemme-csrf", hashlib.sha256).hexdigest()


def csrf_matches(expected: str, given: str | None) -> bool:
    """Constant-time comparison of CSRF tokens."""
    return bool(given) and hmac.compare_digest(expected, given or "")


# refused: the client address is over its limit; throttled: a failing client must wait.
Outcome = Literal["ok", "failed", "refused", "throttled"]


@dataclass(frozen=True, slots=True)
class SignIn:
    """The result of a sign-in attempt; `token` is the new session's cookie value when ok."""

    outcome: Outcome
    user: User | None = None
    token: str | None = None
    retry_after: int = 0  # seconds, when refused or throttled


def recent_failures(session: Session, key: str, now: datetime) -> int:
    """Failed sign-ins for an account within the last hour."""
    return _account_failures(session, key, now)[0]


def failure_wait(session: Session, key: str, now: datetime) -> timedelta:
    """How long after the failures counted under `key` its next try must wait (0: none)."""
    failures, last = _account_failures(session, key, now)
    return max(timedelta(0), last + delay(failures) - now) if last else timedelta(0)


def _account_failures(session: Session, key: str, now: datetime) -> tuple[int, datetime | None]:
    """How many failed sign-ins an account had in the last hour, and when the last was."""
    found, last = session.exec(select(func.count(), func.max(col(LoginAttempt.at))).where(
        LoginAttempt.account_key == key, LoginAttempt.outcome == "failed",
        col(LoginAttempt.at) > now - WINDOW)).one()
    return int(found), last


def delay(failures: int) -> timedelta:
    """How long after an account's last failure a failing client waits: doubling, at most 5 min."""
    if failures <= FREE_FAILURES:
        return timedelta(0)
    return min(MAX_DELAY, timedelta(seconds=2 ** min(failures - FREE_FAILURES - 1, 16)))


def _quarter(at: datetime) -> datetime:
    at = at.astimezone(UTC)
    return at.replace(minute=at.minute - at.minute % 15, second=0, microsecond=0)


def _window(at: datetime) -> str:
    """The throttle window of a quarter hour, e.g. 20261123T1015."""
    return _quarter(at).strftime("%Y%m%dT%H%M")


def _pair(key: str, client: str) -> str:
    return digest(f"sign-in pair:{key}:{client}")


def _in_last_quarter(session: Session, counter: str, now: datetime) -> float:
    """A counter over about the last 15 minutes: this quarter hour, plus the part of the
    previous one still inside them (counters per quarter hour keep the table small)."""
    into = (now - _quarter(now)) / QUARTER
    return count(session, counter, _window(now)) + \
        count(session, counter, _window(now - QUARTER)) * (1 - into)


def client_failures(session: Session, client: str, now: datetime) -> float:
    """Failed sign-ins from a client key (`client_key`) in about the last 15 minutes."""
    return _in_last_quarter(session, client, now)


def sign_in(session: Session, email: str, password: str, *, client: str, now: datetime,
            lifetime: timedelta) -> SignIn:
    """Check a password within the sign-in limits and open a web session when right.

    A client address with 50 failures in 15 minutes is refused whatever it sends (a password
    spray over many accounts). An account's failures make a client that failed on it wait
    longer and longer between tries; a client that has not failed on the account has its
    password checked at once, so nobody guessing at an account locks its owner out. Neither
    refusal looks at the password or counts as a failure, so both lift on their own.
    """
    key = account_key(email)
    if client_failures(session, client, now) >= CLIENT_LIMIT:
        return _turn_away(session, email, key, client, now, "refused", QUARTER,
                          f"{CLIENT_LIMIT} failed sign-ins from this client in 15 minutes")
    failures, last = _account_failures(session, key, now)
    if last is not None and failures > FREE_FAILURES \
            and _in_last_quarter(session, _pair(key, client), now) > 0:
        wait = last + delay(failures) - now
        if wait > timedelta(0):
            return _turn_away(session, email, key, client, now, "throttled", wait,
                              f"{failures} failed sign-ins on this account in the last hour")
    user = user_by_email(session, email)
    usable = user is not None and user.active
    # verify_password checks a dummy hash when there is no usable user: no timing oracle.
    ok = verify_password(user.password_hash if usable and user else None, password) and usable
    session.add(LoginAttempt(account_key=key, at=now, outcome="ok" if ok else "failed"))
    if not ok or user is None:
        hit(session, client, _window(now))
        hit(session, _pair(key, client), _window(now))
        return SignIn("failed")
    token = secrets.token_urlsafe(32)
    session.add(WebSession(token_hash=digest(token), user_id=user.id, created_at=now,
                           last_seen_at=now, expires_at=now + lifetime))
    audit.append(session, actor=user.email, action="user.sign_in", target=f"user:{user.id}",
                 at=now)
    return SignIn("ok", user, token)


def _turn_away(session: Session, email: str, key: str, client: str, now: datetime,
               outcome: Literal["refused", "throttled"], wait: timedelta, why: str) -> SignIn:
    """Record a refused or throttled try; audited once a quarter hour per client (refused) or
    per client and account (throttled)."""
    session.add(LoginAttempt(account_key=key, at=now, outcome=outcome))
    subject = client if outcome == "refused" else _pair(key, client)
    # Once, not per try: a flood of refused tries must not flood the append-only log.
    if hit(session, digest(f"sign-in audited:{outcome}:{subject}"), _window(now)) == 1:
        user = user_by_email(session, email)
        audit.append(session, actor=f"client:{client[:16]}", action=f"sign_in.{outcome}",
                     target=f"user:{user.id}" if user else f"account:{key[:16]}",
                     detail=why, at=now)
    return SignIn(outcome, retry_after=math.ceil(wait.total_seconds()))


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


def create_api_token(session: Session, user: User, *, name: str, created_by: str,
                     now: datetime) -> tuple[ApiToken, str]:
    """A new bearer token for `user`, returned once and stored only as a hash (casework's)."""
    return tokens.create_api_token(session, user, name=name, created_by=created_by, now=now)


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
