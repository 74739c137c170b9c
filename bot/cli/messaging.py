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
    """Ask now, outside the cadence: the survey starts here, and the first question is in the
    outbox, which `stemme serve` polls every second; refused while one waits for an answer."""
    from bot.runtime.services import survey_starter  # the serving parts: only when asking

    now = utcnow()
    starter = survey_starter(rt)
    with session_scope(rt.engine) as session:
        asked = ask_now(session, get_participant(session, args.participant), actor=actor(),
                        now=now, starter=starter)
    result = {"ok": True, "participant_id": args.participant, "started": asked.started,
              "conversation_id": asked.conversation_id, "due_at": asked.due_at.isoformat()}
    if asked.started:
        line = (f"survey started for {args.participant}; `stemme serve` sends its first "
                f"question now")
    else:
        line = (f"survey queued for {args.participant} until {asked.due_at.isoformat()} "
                f"(quiet hours or their contact window); `stemme serve` starts it then")
    out.result(result, line)


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
