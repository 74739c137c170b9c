"""Case commands: create cases, add participants (with invites), new invites, sessions."""

from __future__ import annotations

import argparse
import getpass
from datetime import date, datetime

from bot.channels.telegram.username import bot_username_now
from bot.cli.output import CommandError, Output
from bot.runtime.parts import Runtime
from consent import agreements, audit, links
from scheduler.recurrence import expand, parse_every
from scheduler.windows import BadWindow, ensure_compatible, parse_quiet_hours, parse_window
from storage.db import session_scope
from storage.models import utcnow
from storage.repo import cases, meetings
from storage.repo.users import require_user


def _date(text: str, flag: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{flag} must be a date like 2014-05-31, got {text!r}") from None


def cmd_case_create(rt: Runtime, args: argparse.Namespace, out: Output) -> None:
    """A new case for a child, owned by a caseworker."""
    born = _date(args.birth_date, "--birth-date")
    if born > date.today():
        raise CommandError("--birth-date is in the future")
    with session_scope(rt.engine) as session:
        worker = require_user(session, args.caseworker)
        case = cases.create_case(session, rt.vault, ref=args.ref, child_name=args.child_name,
                                 birth_date=born, caseworker_id=worker.id, cadence=args.cadence)
        audit.append(session, actor="cli", action="case.create", target=f"case:{case.id}")
    out.result({"ok": True, "case_id": case.id, "ref": case.ref, "cadence": case.cadence},
               f"case {case.ref} created: {case.id}")


def _bot_username(rt: Runtime, channel: str) -> str | None:
    """The bot t.me links open (getMe), asked before any transaction; only for Telegram."""
    return bot_username_now(rt.settings) if channel == "telegram" else None


def _invite_lines(rt: Runtime, channel: str, issued: links.Issued) -> list[str]:
    lines = [f"invite code: {issued.code}" + (" (single use, 14 days)"
                                              if channel == "telegram" else "")]
    if issued.url:
        lines.append(f"invite link: {issued.url}")
    elif not rt.settings.telegram_enabled:
        lines.append("invite link: Telegram is off (set STEMME_TELEGRAM_TOKEN); the code "
                     "alone links nothing yet")
    else:
        lines.append("invite link: the Bot API did not answer getMe; try again, or set "
                     "STEMME_TELEGRAM_BOT_USERNAME")
    if issued.revoked:
        lines.append(f"{issued.revoked} earlier invite(s) of this person no longer work")
    return lines


def cmd_participant_add(rt: Runtime, args: argparse.Namespace, out: Output) -> None:
    """Add a rater; chat participants get a single-use invite link and code."""
    now = utcnow()
    actor = f"cli:{getpass.getuser()}"
    bot_username = _bot_username(rt, args.channel)
    with session_scope(rt.engine) as session:
        case = cases.get_case(session, args.case)
        window = _window(args.window, rt)
        person = cases.add_participant(
            session, rt.vault, rt.index, case=case, role=args.role, channel=args.channel,
            language=args.language, name=args.name, phone=args.phone,
            rates_sessions={"sessions": True, "cadence": False}.get(args.rates or ""),
            contact_window=window,
        )
        if args.guardian_consent:
            view = cases.view_participant(session, rt.vault, person)
            if args.role != "child" or view.birth_date is None:
                raise CommandError("--guardian-consent is for a child; the participant is a "
                                   f"{args.role}")
            age = agreements.age_on(view.birth_date, now.date())
            if age >= agreements.SELF_CONSENT_AGE:
                raise CommandError(f"the child is {age}: from 15 a child decides alone, and is "
                                   "asked in the chat")
            agreements.record(session, person, action="given", given_by="guardian",
                              recorded_by=actor, at=now, age_at_time=age)
            audit.append(session, actor=actor, action="consent.guardian",
                         target=f"participant:{person.id}")
        audit.append(session, actor=actor, action="participant.add",
                     target=f"participant:{person.id}", detail=f"role={args.role}")
        issued = None
        if args.channel in ("telegram", "webchat"):
            # A Telegram code links a chat once; a web-chat code is the page itself, reused.
            issued = links.issue_invite(session, person, actor=actor, now=now,
                                        public_url=rt.settings.public_url,
                                        bot_username=bot_username)
    result: dict[str, object] = {"ok": True, "participant_id": person.id, "case_id": case.id,
                                 "role": person.role, "channel": person.channel}
    lines = [f"{args.role} added to case {case.ref}: {person.id}"]
    if issued:
        result.update(invite_url=issued.url, invite_code=issued.code)
        lines += _invite_lines(rt, args.channel, issued)
    out.result(result, "\n".join(lines))


def cmd_participant_invite(rt: Runtime, args: argparse.Namespace, out: Output) -> None:
    """A new invite for a chat rater; their earlier unused invites and web-chat links end."""
    with session_scope(rt.engine) as session:
        channel = cases.get_participant(session, args.participant).channel
    bot_username = _bot_username(rt, channel)
    now = utcnow()
    with session_scope(rt.engine) as session:
        person = cases.get_participant(session, args.participant)
        if not links.may_invite(person):
            raise CommandError(f"participant {person.id} ({person.channel}, {person.status}) "
                               "gets no invite: only chat raters (telegram, webchat) who take "
                               "part do")
        issued = links.issue_invite(session, person, actor=f"cli:{getpass.getuser()}",
                                    now=now, public_url=rt.settings.public_url,
                                    bot_username=bot_username)
    out.result({"ok": True, "participant_id": person.id, "channel": person.channel,
                "invite_url": issued.url, "invite_code": issued.code,
                "revoked": issued.revoked},
               "\n".join([f"new invite for {person.id}", *_invite_lines(rt, channel, issued)]))


def _window(text: str | None, rt: Runtime) -> str | None:
    """A contact window, checked now so the sweep never meets an unreadable one."""
    if not text:
        return None
    try:
        window = parse_window(text)
        ensure_compatible(parse_quiet_hours(rt.settings.quiet_hours), window)
    except BadWindow as exc:
        raise CommandError(str(exc)) from None
    return str(window)


def cmd_session_cancel(rt: Runtime, args: argparse.Namespace, out: Output) -> None:
    """Cancel a session, or it and the rest of its series; its unsent prompts go too."""
    with session_scope(rt.engine) as session:
        try:
            count = meetings.cancel_meetings(session, args.session, series=args.series,
                                             at=utcnow())
        except LookupError as exc:
            raise CommandError(str(exc)) from None
        audit.append(session, actor="cli", action="session.cancel",
                     target=f"session:{args.session}", detail=f"count={count}")
    out.result({"ok": True, "cancelled": count}, f"{count} session(s) cancelled")


def cmd_session_add(rt: Runtime, args: argparse.Namespace, out: Output) -> None:
    """One session, or a weekly/fortnightly series with --every and --until."""
    try:
        at = datetime.fromisoformat(args.at)
    except ValueError:
        raise CommandError(f"--at must be ISO 8601 like 2026-12-01T15:00, got {args.at!r}"
                           ) from None
    zone = rt.settings.zone
    if at.tzinfo is None:
        at = at.replace(tzinfo=zone)
    if bool(args.every) != bool(args.until):
        raise CommandError("--every and --until go together, e.g. --every 1w --until 2027-03-01")
    if args.every:
        starts = expand(at, parse_every(args.every), _date(args.until, "--until"), zone)
    else:
        starts = [at]
    with session_scope(rt.engine) as session:
        case = cases.get_case(session, args.case)
        rows = meetings.add_meetings(session, case_id=case.id, starts=starts,
                                     minutes=args.minutes)
        audit.append(session, actor="cli", action="session.add", target=f"case:{case.id}",
                     detail=f"count={len(rows)}")
    out.result({"ok": True, "case_id": case.id, "session_ids": [r.id for r in rows],
                "series_id": rows[0].series_id,
                "starts_at": [r.starts_at.isoformat() for r in rows]},
               f"{len(rows)} session(s) added to case {case.ref}, first "
               f"{rows[0].starts_at.astimezone(zone):%Y-%m-%d %H:%M}")
