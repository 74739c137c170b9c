"""Operator commands for sign-in: a reset link, reactivating a user, an API token."""

from __future__ import annotations

import argparse

from bot.cli.output import Output
from bot.cli.refusals import actor
from bot.runtime.parts import Runtime
from casework.passwords import make_reset_link
from casework.tokens import create_api_token
from casework.users import reactivate_user
from storage.db import session_scope
from storage.models import utcnow
from storage.repo.users import require_user


def cmd_user_reset_password(rt: Runtime, args: argparse.Namespace, out: Output) -> None:
    """A one-time link (24 hours) for the user to set a new password; printed once."""
    with session_scope(rt.engine) as session:
        user = require_user(session, args.email)
        link = make_reset_link(session, user, actor=actor(), public_url=rt.settings.public_url,
                               now=utcnow())
    out.result({"ok": True, "user_id": user.id, "email": user.email, "reset_url": link.url,
                "expires_at": link.expires_at.isoformat()},
               f"{link.url}\nOne use, until {link.expires_at:%Y-%m-%d %H:%M} UTC; shown only "
               f"now. Give it to {user.email} by a safe route; earlier links stop working.")


def cmd_user_reactivate(rt: Runtime, args: argparse.Namespace, out: Output) -> None:
    """Let a deactivated user sign in again; old sessions and tokens stay revoked."""
    with session_scope(rt.engine) as session:
        user = require_user(session, args.email)
        reactivate_user(session, user, actor=actor(), now=utcnow())
    out.result({"ok": True, "user_id": user.id, "email": user.email},
               f"user {user.email} reactivated; they sign in with their password (old "
               "sessions and API tokens stay revoked)")


def cmd_token_create(rt: Runtime, args: argparse.Namespace, out: Output) -> None:
    """An API token acting as the user; printed once, stored only as a hash."""
    who = actor()
    with session_scope(rt.engine) as session:
        user = require_user(session, args.user)
        row, token = create_api_token(session, user, name=args.name or "cli", created_by=who,
                                      now=utcnow())
    out.result({"ok": True, "token": token, "token_id": row.id, "user_id": user.id,
                "email": user.email, "name": row.name},
               f"{token}\nAPI token '{row.name}' for {user.email}; shown only now (send it as "
               "'Authorization: Bearer <token>').")
