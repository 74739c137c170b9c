"""Operator commands: migrate, users, key rotation, audit verification."""

from __future__ import annotations

import argparse
import sys

from sqlmodel import Session, func, select

from bot.cli.output import CommandError, Output
from bot.cli.refusals import actor
from bot.runtime.parts import Runtime
from casework.users import add_user, deactivate_user
from consent import audit
from consent.audit_anchors import AnchorFileError, read_anchors, write_anchor
from storage import migrate
from storage.db import session_scope
from storage.models import DataKey, utcnow
from storage.repo.users import require_user


def cmd_migrate(rt: Runtime, args: argparse.Namespace, out: Output) -> None:
    """Bring the schema to the newest revision; creates the key file on first run."""
    before, after = migrate.upgrade(rt.engine)
    rt.keys  # noqa: B018  (creating the key file here keeps `serve` from racing to create it)
    out.result({"ok": True, "from_revision": before, "to_revision": after,
                "key_file": None if rt.settings.keys else str(rt.settings.resolved_key_file)},
               f"database at revision {after} (was {before or 'empty'})")


def cmd_user_add(rt: Runtime, args: argparse.Namespace, out: Output) -> None:
    """Create a dashboard user; the password is read from stdin with --password-stdin."""
    password = None
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
        if not password:
            raise CommandError("--password-stdin was given but standard input was empty")
    with session_scope(rt.engine) as session:
        user = add_user(session, actor=actor(), email=args.email, role=args.role,
                        password=password, now=utcnow(), team=args.team,
                        provider=args.provider)
    out.result({"ok": True, "user_id": user.id, "email": user.email, "role": user.role},
               f"user {user.email} ({user.role}) created: {user.id}")


def cmd_user_deactivate(rt: Runtime, args: argparse.Namespace, out: Output) -> None:
    """Deactivate a user: sessions end, tokens are revoked, their cases go to --handover-to."""
    with session_scope(rt.engine) as session:
        user = require_user(session, args.email)
        moved = deactivate_user(session, user, actor=actor(), handover_to=args.handover_to,
                                now=utcnow())
    to = f"; {moved} case(s) handed over to {args.handover_to}" if args.handover_to else ""
    out.result({"ok": True, "user_id": user.id, "email": user.email, "cases_moved": moved},
               f"user {user.email} deactivated{to}")


def cmd_keys_rotate(rt: Runtime, args: argparse.Namespace, out: Output) -> None:
    """New master key and new data-key versions; every data key re-wrapped under the new one."""
    if rt.settings.keys:
        raise CommandError("keys come from STEMME_KEYS; rotate by setting STEMME_KEY_FILE to a "
                           "file you control")
    old = rt.keys.active
    new = rt.keys.rotate()
    with session_scope(rt.engine) as session:
        total = session.exec(select(func.count()).select_from(DataKey)).one()
        with out.progress("re-wrapping data keys", int(total) * 2) as step:
            versions = rt.vault.new_versions(session, step)
            rewrapped = rt.vault.rewrap_all(session, step)
        audit.append(session, actor="cli", action="keys.rotate", target=f"master:{new}",
                     detail=f"from={old} data_key_versions={versions}")
    out.result({"ok": True, "master_key_id": new, "previous_master_key_id": old,
                "data_keys_rewrapped": rewrapped, "new_data_key_versions": versions},
               f"master key {new} active; {rewrapped} data keys re-wrapped, "
               f"{versions} new data-key versions. Back up {rt.settings.resolved_key_file} now.")


def cmd_audit_verify(rt: Runtime, args: argparse.Namespace, out: Output) -> None:
    """Check the audit log's chain against its anchors; fails naming the first bad entry. An
    intact chain's head is anchored (appended to the anchor file)."""
    anchor_file = rt.settings.resolved_audit_anchor_file
    try:
        anchors = read_anchors(anchor_file)
    except AnchorFileError as exc:
        raise CommandError(str(exc)) from None
    with Session(rt.engine) as session:
        report = audit.verify(session, anchors)
    if not report.ok:
        out.result({"ok": False, "entries_checked": report.entries,
                    "first_broken_seq": report.first_broken_seq,
                    "first_broken_id": report.first_broken_id, "reason": report.reason},
                   f"audit log BROKEN at entry {report.first_broken_seq}: {report.reason}")
        raise SystemExit(1)
    if report.head is not None:
        write_anchor(anchor_file, report.head)
    out.result({"ok": True, "entries_checked": report.entries, "anchors": len(anchors),
                "head": {"seq": report.head.seq, "hash": report.head.hash}
                if report.head else None},
               f"audit log intact: {report.entries} entries, {len(anchors)} earlier anchors "
               f"matched; head anchored in {anchor_file}")
