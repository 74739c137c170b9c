"""Single-use, expiring invite tokens that link a chat to a participant; stored hashed."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from storage.models import Invite, Participant

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
DEFAULT_TTL = timedelta(days=14)


def token_hash(token: str) -> str:
    """SHA-256 of a token; tokens carry 192 random bits, so a plain hash is enough."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def create_invite(
    session: Session, participant: Participant, *, now: datetime, ttl: timedelta = DEFAULT_TTL
) -> str:
    """A new token (32 chars of A-Za-z0-9_-) for the participant; only its hash is stored."""
    token = secrets.token_urlsafe(24)
    session.add(Invite(participant_id=participant.id, token_hash=token_hash(token),
                       expires_at=now + ttl))
    session.flush()
    return token


def redeem_invite(session: Session, token: str, *, now: datetime) -> Participant | None:
    """The participant for an unused, unexpired token, marking it used; None otherwise."""
    if not TOKEN_RE.match(token):
        return None
    invite = session.exec(select(Invite).where(Invite.token_hash == token_hash(token))).first()
    if invite is None or invite.used_at is not None or invite.expires_at <= now:
        return None
    # A conditional update, so two chats racing for one token cannot both win.
    claimed = session.execute(
        update(Invite).where(col(Invite.id) == invite.id, col(Invite.used_at).is_(None))
        .values(used_at=now)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return session.get(Participant, invite.participant_id)


def resolve_webchat(session: Session, token: str, *, now: datetime) -> Participant | None:
    """The web-chat participant a page token belongs to (reusable until it expires)."""
    if not TOKEN_RE.match(token):
        return None
    invite = session.exec(select(Invite).where(Invite.token_hash == token_hash(token))).first()
    if invite is None or invite.expires_at <= now:
        return None
    person = session.get(Participant, invite.participant_id)
    if person is None or person.channel != "webchat" or person.status == "erased":
        return None
    return person
