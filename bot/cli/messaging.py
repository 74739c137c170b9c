"""Commands that reach people: ask a participant now, send the weekly digest now."""

from __future__ import annotations

import argparse
import asyncio
import uuid

from sqlmodel import Session

from bot.cli.output import CommandError, Output
from bot.runtime.parts import Runtime
from consent import audit
from reports.mailer import Mailer, outbox_dir
from reports.mailjobs import MailConfig, send_digests
from scheduler.prompts import add_prompt
from storage.models import Case, Participant, utcnow


def cmd_survey_send(rt: Runtime, args: argparse.Namespace, out: Output) -> None:
    """Ask now, outside the cadence: the running server's next sweep starts the survey."""
    now = utcnow()
    with Session(rt.engine) as session:
        person = session.get(Participant, args.participant)
        if person is None:
            raise CommandError(f"no participant {args.participant}")
        case = session.get(Case, person.case_id)
        if person.status != "active" or case is None or case.status != "open":
            raise CommandError(f"participant {person.id} cannot be asked: they are "
                               f"{person.status}, the case is {case.status if case else '?'}")
        key = f"adhoc:{uuid.uuid4().hex}"
        add_prompt(session, participant=person, kind="adhoc", dedupe_key=key, due_at=now)
        audit.append(session, actor="cli", action="survey.send",
                     target=f"participant:{person.id}", at=now)
        session.commit()
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
