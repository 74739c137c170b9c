"""Password hashing for dashboard users (argon2id), with a dummy check for unknown users."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Checked when the user does not exist, so a wrong e-mail costs as long as a wrong password.
_DUMMY = _hasher.hash("stemme-dummy-password")


class WeakPassword(ValueError):
    """A password too short to protect children's data."""


MIN_LENGTH = 12


def hash_password(password: str) -> str:
    """An argon2id hash of a password of at least 12 characters."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"the password must be at least {MIN_LENGTH} characters long")
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when `password` matches; spends the same time when there is no user."""
    try:
        return _hasher.verify(stored_hash or _DUMMY, password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
