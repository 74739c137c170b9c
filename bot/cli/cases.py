"""Case commands: create, close, reopen and hand over cases, add participants (with invites),
new invites, sessions."""

from __future__ import annotations

import argparse
from datetime import date, datetime

from bot.channels.telegram.username import bot_username_now
from bot.cli.output import CommandError, Output
from bot.cli.refusals import actor
from bot.runtime.parts import Runtime
from casework import cases as casework_cases
from casework import invites, lifecycle, participants, sessions
from casework.invites import Invitation
from casework.rater_settings import rating_mode, set_rater_settings
from storage.db import session_scope
from storage.models import utcnow
from storage.repo import cases
from storage.repo.users import require_user


def _date(text: str, flag: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{flag} must be a date like 2014-05-31, got {text!r}") from None


def cmd_case_create(rt: Runtime, args: argparse.Namespace, out: Output) -> None:
    """A new case for a child, owned by a caseworker."""
    born = _date(args.birth_date, "--birth-date")
    now = utcnow()
    with session_scope(rt.engine) as session:
        worker = require_user(session, args.caseworker)
        case = casework_cases.create_case(session, rt.vault, actor=actor(), caseworker=worker,
                                          ref=args.ref, child_name=args.child_name,
                                          birth_date=born, cadence=args.cadence, now=now,
                                          provider=args.provider)
    out.result({"ok": True, "case_id": case.id, "ref": case.ref, "cadence": case.cadence},
               f"case {case.ref} created: {case.id}")


def cmd_case_close(rt: Runtime, args: argparse.Namespace, out: Output) -> None:
    """Close a case: nobody is asked anything any more; one neutral goodbye each."""
    now = utcnow()
    with session_scope(rt.engine) as session:
        case = cases.get_case(session, args.case)
        closed = lifecycle.close_case(session, rt.vault, case, actor=actor(),
                                      reason=args.reason, goodbye=rt.goodbye,
                                      zone=rt.settings.zone,
                                      quiet_hours=rt.settings.quiet_hours, now=now)
    out.result({"ok": True, "case_id": case.id, "status": "closed",
                "closed_at": now.isoformat(), "goodbyes": closed.goodbyes},
               f"case {case.ref} closed; {closed.goodbyes} goodbye(s) queued, nobody is asked "
               "anything any more")


def cmd_case_reopen(rt: Runtime, args: argparse.Namespace, out: Output) -> None:
    """Reopen a closed case: asked again from now on, nothing due while closed."""
    now = utcnow()
    with session_scope(rt.engine) as session:
        case = cases.get_case(session, args.case)
        lifecycle.reopen_case(session, case, actor=actor(), zone=rt.settings.zone, now=now)
    out.result({"ok": True, "case_id": case.id, "status": "open"},
               f"case {case.ref} reopened; questions go on from now")


def cmd_case_handover(rt: Runtime, args: argparse.Namespace, out: Output) -> None:
    """Move a case (and its open alerts) to another active user."""
    with session_scope(rt.engine) as session:
        case = cases.get_case(session, args.case)
        owner = lifecycle.hand_over(session, case, to=args.to, actor=actor(), now=utcnow())
    out.result({"ok": True, "case_id": case.id, "caseworker_email": owner.email},
               f"case {case.ref} handed over to {owner.email}")


def _bot_username(rt: Runtime, channel: str) -> str | None:
    """The bot t.me links open (getMe), asked before any transaction; only for Telegram."""
    return bot_username_now(rt.settings) if channel == "telegram" else None


def _invite_lines(rt: Runtime, channel: str, issued: Invitation) -> list[str]:
    days = invites.lifetime(channel).days
    lines = [f"invite code: {issued.code}" + (f" (single use, {days} days)"
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
    window = participants.contact_window(args.window, quiet_hours=rt.settings.quiet_hours)
    bot_username = _bot_username(rt, args.channel)
    with session_scope(rt.engine) as session:
        case = cases.get_case(session, args.case)
        issued = participants.add_participant(
            session, rt.vault, rt.index, case, actor=actor(), role=args.role,
            channel=args.channel, name=args.name, phone=args.phone, language=args.language,
            guardian_consent=args.guardian_consent, public_url=rt.settings.public_url,
            bot_username=bot_username, now=now,
            rates_sessions={"sessions": True, "cadence": False}.get(args.rates or ""),
            window=window)
    person = issued.participant
    result: dict[str, object] = {"ok": True, "participant_id": person.id, "case_id": case.id,
                                 "role": person.role, "channel": person.channel}
    lines = [f"{args.role} added to case {case.ref}: {person.id}"]
    if issued.code is not None:
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
        issued = invites.new_invite(session, person, actor=actor(),
                                    public_url=rt.settings.public_url,
                                    bot_username=bot_username, now=now)
    out.result({"ok": True, "participant_id": person.id, "channel": person.channel,
                "invite_url": issued.url, "invite_code": issued.code,
                "revoked": issued.revoked},
               "\n".join([f"new invite for {person.id}", *_invite_lines(rt, channel, issued)]))


def cmd_participant_set(rt: Runtime, args: argparse.Namespace, out: Output) -> None:
    """Change a rater's contact window (empty: none) and/or rating mode; audited."""
    if args.window is None and args.rates is None:
        raise CommandError("give --window (empty for none) and/or --rates sessions|cadence")
    with session_scope(rt.engine) as session:
        person = cases.get_participant(session, args.participant)
        current = set_rater_settings(
            session, person, actor=actor(), now=utcnow(), quiet_hours=rt.settings.quiet_hours,
            rates_sessions=rating_mode(args.rates),
            **({} if args.window is None else {"window": args.window}))
    mode = "sessions" if current.rates_sessions else "cadence"
    out.result({"ok": True, "participant_id": args.participant,
                "contact_window": current.contact_window, "rates": mode},
               f"{args.participant}: window {current.contact_window or 'none'}, rates {mode}")


def cmd_session_cancel(rt: Runtime, args: argparse.Namespace, out: Output) -> None:
    """Cancel a session, or it and the rest of its series; its unsent prompts go too."""
    with session_scope(rt.engine) as session:
        count = sessions.cancel_session(session, args.session, series=args.series,
                                        actor=actor(), now=utcnow())
    out.result({"ok": True, "cancelled": count}, f"{count} session(s) cancelled")


def cmd_session_add(rt: Runtime, args: argparse.Namespace, out: Output) -> None:
    """One session, or a weekly/fortnightly series with --every and --until."""
    try:
        at = datetime.fromisoformat(args.at)
    except ValueError:
        raise CommandError(f"--at must be ISO 8601 like 2026-12-01T15:00, got {args.at!r}"
                           ) from None
    until = _date(args.until, "--until") if args.until else None
    zone = rt.settings.zone
    with session_scope(rt.engine) as session:
        case = cases.get_case(session, args.case)
        rows = sessions.add_sessions(session, case, at=at, minutes=args.minutes,
                                     every=args.every, until=until, zone=zone, actor=actor(),
                                     now=utcnow())
    out.result({"ok": True, "case_id": case.id, "session_ids": [r.id for r in rows],
                "series_id": rows[0].series_id,
                "starts_at": [r.starts_at.isoformat() for r in rows]},
               f"{len(rows)} session(s) added to case {case.ref}, first "
               f"{rows[0].starts_at.astimezone(zone):%Y-%m-%d %H:%M}")
