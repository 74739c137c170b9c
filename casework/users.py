"""Dashboard users: adding a caseworker or an admin."""

from __future__ import annotations

import re
from datetime import datetime

from sqlmodel import Session

from casework.errors import Invalid
from consent import audit
from storage.models import User
from storage.passwords import MIN_LENGTH, WeakPassword
from storage.repo.users import ROLES, create_user, user_by_email

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,}$")


def add_user(session: Session, *, actor: str, email: str, role: str, password: str | None,
             now: datetime) -> User:
    """A new user; audited. Without a password (None) they cannot sign in until given one."""
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
    return user
