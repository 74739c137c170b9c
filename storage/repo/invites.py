"""Single-use, expiring invite tokens that link a chat to a participant; stored hashed.

A participant has one live invite at a time: a new one revokes the earlier unused ones (a
Telegram code not yet redeemed, a web-chat page link), and a revoked or used code is refused
exactly like one that never existed.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from storage.models import Invite, Participant

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
DEFAULT_TTL = timedelta(days=14)  # a Telegram code: single use
WEBCHAT_TTL = timedelta(days=365)  # a web-chat code is the page itself, reused


def token_hash(token: str) -> str:
    """SHA-256 of a token; tokens carry 192 random bits, so a plain hash is enough."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def ttl_for(channel: str) -> timedelta:
    """How long a new invite on this channel is valid."""
    return WEBCHAT_TTL if channel == "webchat" else DEFAULT_TTL


def invite_url(channel: str, code: str, *, public_url: str,
               bot_username: str | None) -> str | None:
    """The link a participant opens: the web-chat page, or the Telegram deep link.

    The one place invite links are built (command line, dashboard and API); None for a
    Telegram invite while the bot's username is unknown.
    """
    if channel == "webchat":
        return f"{public_url.rstrip('/')}/chat/{code}"
    if channel == "telegram" and bot_username:
        return f"https://t.me/{bot_username.lstrip('@')}?start={code}"
    return None


def revoke_invites(session: Session, participant_id: str, *, now: datetime) -> int:
    """End the participant's live unused invites (and web-chat links); how many there were."""
    result = session.execute(
        update(Invite).where(col(Invite.participant_id) == participant_id,
                             col(Invite.used_at).is_(None), col(Invite.revoked_at).is_(None),
                             col(Invite.expires_at) > now)
        .values(revoked_at=now))
    return int(result.rowcount)  # type: ignore[attr-defined]


def replace_invite(
    session: Session, participant: Participant, *, now: datetime, ttl: timedelta | None = None
) -> tuple[str, int]:
    """A new token for the participant and how many live invites it replaced (revoked)."""
    revoked = revoke_invites(session, participant.id, now=now)
    token = secrets.token_urlsafe(24)
    session.add(Invite(participant_id=participant.id, token_hash=token_hash(token),
                       expires_at=now + (ttl or ttl_for(participant.channel))))
    session.flush()
    return token, revoked


def create_invite(
    session: Session, participant: Participant, *, now: datetime, ttl: timedelta | None = None
) -> str:
    """A new token (32 chars of A-Za-z0-9_-), revoking earlier unused ones; stored hashed."""
    return replace_invite(session, participant, now=now, ttl=ttl)[0]


def _live(session: Session, token: str, now: datetime) -> Invite | None:
    if not TOKEN_RE.match(token):
        return None
    invite = session.exec(select(Invite).where(Invite.token_hash == token_hash(token))).first()
    if invite is None or invite.revoked_at is not None or invite.expires_at <= now:
        return None
    return invite


def redeem_invite(session: Session, token: str, *, now: datetime) -> Participant | None:
    """The Telegram participant of an unused, unrevoked, unexpired token, marking it used.

    A web-chat code is never redeemed here: it is that person's page, not a one-time link.
    """
    invite = _live(session, token, now)
    if invite is None or invite.used_at is not None:
        return None
    person = session.get(Participant, invite.participant_id)
    # A withdrawn or erased person's code links nothing (a code from before withdrawal ended
    # invites, or one a withdrawal missed), exactly like a wrong one.
    if person is None or person.channel != "telegram" \
            or person.status not in ("active", "unreachable"):
        return None
    # A conditional update, so two chats racing for one token cannot both win, and a token
    # revoked meanwhile (a newer invite) does not either.
    claimed = session.execute(
        update(Invite).where(col(Invite.id) == invite.id, col(Invite.used_at).is_(None),
                             col(Invite.revoked_at).is_(None))
        .values(used_at=now)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return person


def resolve_webchat(session: Session, token: str, *, now: datetime) -> Participant | None:
    """The web-chat participant a page token belongs to (reusable until expired or revoked).

    A withdrawn or erased person's page is gone, like a wrong one.
    """
    invite = _live(session, token, now)
    if invite is None:
        return None
    person = session.get(Participant, invite.participant_id)
    if person is None or person.channel != "webchat" or person.status in ("withdrawn",
                                                                           "erased"):
        return None
    return person
