"""API tokens: a new bearer token for a user, shown once and stored only as its SHA-256.

One place for the dashboard (*API-nøgler*, *Brugere*) and `stemme token create`.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlmodel import Session

from consent import audit
from storage.models import ApiToken, User
from storage.repo.errors import Conflict

TOKEN_PREFIX = "stm_"


def digest(token: str) -> str:
    """SHA-256 of a token as hex; enough for 256-bit random tokens (no guessing to slow down)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_api_token(session: Session, user: User, *, name: str, created_by: str,
                     now: datetime) -> tuple[ApiToken, str]:
    """A new bearer token for `user`, acting as them; returned once, stored only as a hash.

    Audited (`api_token.create`). Conflict for a deactivated user: their token would open
    nothing, and reactivation is not meant to bring access back by a side door.
    """
    if not user.active:
        raise Conflict(f"{user.email} is deactivated; reactivate them first")
    name = name.strip()[:80] or "API"
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=name, token_hash=digest(token), prefix=token[:10],
                   created_by=created_by, created_at=now)
    session.add(row)
    session.flush()
    audit.append(session, actor=created_by, action="api_token.create",
                 target=f"user:{user.id}", detail=f"token={row.id}", at=now)
    return row, token
