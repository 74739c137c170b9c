"""Commands that reach people: ask a participant now, send the weekly digest now."""

from __future__ import annotations

import argparse
import asyncio

from bot.cli.output import Output
from bot.cli.refusals import actor
from bot.runtime.parts import Runtime
from casework.asking import ask_now
from reports.mailer import Mailer, outbox_dir
from reports.mailjobs import MailConfig, send_digests
from storage.db import session_scope
from storage.models import utcnow
from storage.repo.cases import get_participant


def cmd_survey_send(rt: Runtime, args: argparse.Namespace, out: Output) -> None:
    """Ask now, outside the cadence: the running server's next sweep starts the survey."""
    now = utcnow()
    with session_scope(rt.engine) as session:
        ask_now(session, get_participant(session, args.participant), actor=actor(), now=now)
    out.result({"ok": True, "participant_id": args.participant, "due_at": now.isoformat()},
               f"survey queued for {args.participant}; `stemme serve` starts it within "
               f"{rt.settings.sweep_seconds:g} s (quiet hours wait for morning)")


def cmd_digest_send(rt: Runtime, args: argparse.Namespace, out: Output) -> None:
    """Send this week's digest now (to one caseworker with --caseworker)."""
    s = rt.settings
    mailer = Mailer(s.smtp_url, outbox_dir(s.data_dir))
    cfg = MailConfig(sender=s.mail_sender, public_url=s.public_url, team_address=s.team_email,
                     rules=s.rules.rules)
    sent = asyncio.run(send_digests(rt.engine, rt.vault, mailer, cfg, utcnow(),
                                    only=args.caseworker, force=True))
    where = "by SMTP" if s.smtp_url else f"as .eml files in {outbox_dir(s.data_dir)}"
    out.result({"ok": True, "sent": sent, "via": "smtp" if s.smtp_url else "file"},
               f"{sent} digest(s) sent {where}")
