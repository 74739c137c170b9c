"""Dashboard users: adding a caseworker or an admin, deactivating and reactivating one."""

from __future__ import annotations

import re
from datetime import datetime

from sqlmodel import Session

from casework.errors import Invalid
from casework.lifecycle import hand_over_all, new_owner, open_cases_of
from casework.organisation import place_user
from consent import audit
from storage.models import User
from storage.passwords import MIN_LENGTH, WeakPassword
from storage.repo import notices
from storage.repo.errors import Conflict
from storage.repo.users import ROLES, create_user, end_access, user_by_email

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,}$")


def add_user(session: Session, *, actor: str, email: str, role: str, password: str | None,
             now: datetime, team: str | None = None, provider: str | None = None) -> User:
    """A new user; audited. Without a password (None) they cannot sign in until given one.

    `team` and `provider` name a team and a provider organisation (casework.organisation:
    a provider user needs one, staff may be in a team)."""
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise Invalid("email", "email", email=email)
    if role not in ROLES:
        raise Invalid("user_role", "role", roles=", ".join(ROLES))
    if user_by_email(session, email) is not None:
        raise Invalid("user_exists", "email", email=email)
    # An empty password is a weak one, not "no password": the repository would store none.
    if password is not None and len(password) < MIN_LENGTH:
        raise Invalid("password", "password", minimum=MIN_LENGTH)
    try:
        user = create_user(session, email=email, role=role, password=password)
    except WeakPassword:
        raise Invalid("password", "password", minimum=MIN_LENGTH) from None
    audit.append(session, actor=actor, action="user.add", target=f"user:{user.id}",
                 detail=f"role={role}", at=now)
    if team or provider or role == "provider":
        place_user(session, user, actor=actor, team=team, provider=provider, now=now)
    return user


def deactivate_user(session: Session, user: User, *, actor: str, handover_to: str | None,
                    now: datetime) -> int:
    """Deactivate a user: their sessions end and tokens are revoked; audited.

    Someone who owns open cases needs a new owner (`handover_to`, an active user's e-mail),
    who then gets all their cases, open and closed (each hand-over audited); without one it
    is refused (`handover_needed`). Returns how many cases moved. Conflict when the user is
    deactivated already.
    """
    if not user.active:
        raise Conflict(f"{user.email} is deactivated already")
    handover_to = (handover_to or "").strip()
    moved = 0
    if handover_to:
        owner = new_owner(session, handover_to, current=user.id)
        moved = hand_over_all(session, user, owner, actor=actor, now=now)
    elif (count := open_cases_of(session, user)) > 0:
        raise Invalid("handover_needed", "handover_to", email=user.email, count=count)
    user.active = False
    session.add(user)
    end_access(session, user.id, now=now, reason="deactivated")
    # Open urgent alerts of cases still theirs (closed ones) go to the team at once.
    notices.hasten_for_caseworker(session, user.id, now=now)
    audit.append(session, actor=actor, action="user.deactivate", target=f"user:{user.id}",
                 detail=f"cases_moved={moved}", at=now)
    return moved


def reactivate_user(session: Session, user: User, *, actor: str, now: datetime) -> None:
    """Let a deactivated user sign in again (with their password in force); audited.

    What deactivation ended stays ended: their old sessions and API tokens are not revived.
    Conflict when the user is active already.
    """
    if user.active:
        raise Conflict(f"{user.email} is active already")
    user.active = True
    session.add(user)
    audit.append(session, actor=actor, action="user.reactivate", target=f"user:{user.id}",
                 at=now)
