"""Organisation commands: teams, provider organisations and deputies (casework does each)."""

from __future__ import annotations

import argparse
from datetime import UTC, date

from bot.cli.output import CommandError, Output
from bot.cli.refusals import actor
from bot.runtime.parts import Runtime
from casework import organisation
from storage.db import session_scope
from storage.models import utcnow


def _day(text: str, flag: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{flag} must be a date like 2027-07-01, got {text!r}") from None


def cmd_team_add(rt: Runtime, args: argparse.Namespace, out: Output) -> None:
    """A new team; users join it with `stemme user add --team NAME`."""
    with session_scope(rt.engine) as session:
        team = organisation.add_team(session, actor=actor(), name=args.name, now=utcnow())
    out.result({"ok": True, "team_id": team.id, "name": team.name},
               f"team {team.name} created: {team.id}")


def cmd_provider_add(rt: Runtime, args: argparse.Namespace, out: Output) -> None:
    """A new provider organisation; its users are added with --role provider --provider."""
    with session_scope(rt.engine) as session:
        org = organisation.add_provider(session, actor=actor(), name=args.name, now=utcnow())
    out.result({"ok": True, "provider_id": org.id, "name": org.name},
               f"provider organisation {org.name} created: {org.id}")


def cmd_deputy_add(rt: Runtime, args: argparse.Namespace, out: Output) -> None:
    """A deputy for an absent caseworker, from the first to the last day (local days)."""
    first, last = _day(args.from_day, "--from"), _day(args.to_day, "--to")
    with session_scope(rt.engine) as session:
        row = organisation.add_deputy(session, actor=actor(), for_email=args.for_email,
                                      deputy_email=args.deputy, first_day=first,
                                      last_day=last, zone=rt.settings.zone, now=utcnow())
    out.result({"ok": True, "deputy_id": row.id, "for": args.for_email.strip().lower(),
                "deputy": args.deputy.strip().lower(), "from": first.isoformat(),
                "to": last.isoformat(), "starts_at": row.starts_at.astimezone(UTC).isoformat(),
                "ends_at": row.ends_at.astimezone(UTC).isoformat()},
               f"{args.deputy} stands in for {args.for_email} from {first} to {last} "
               "(their cases and their urgent alert mails)")


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser],
                 common: argparse.ArgumentParser) -> None:
    """Register `team add`, `provider add` and `deputy add` on the main parser."""
    def group(name: str, help_: str) -> argparse._SubParsersAction[argparse.ArgumentParser]:
        return sub.add_parser(name, help=help_).add_subparsers(dest="sub", required=True)

    def command(into: argparse._SubParsersAction[argparse.ArgumentParser], handler: object,
                help_: str) -> argparse.ArgumentParser:
        p = into.add_parser("add", parents=[common], help=help_, description=help_)
        p.set_defaults(handler=handler)
        return p

    p = command(group("team", "teams of caseworkers and their leaders"), cmd_team_add,
                "create a team; a leader sees its cases")
    p.add_argument("--name", required=True)
    p = command(group("provider", "provider organisations"), cmd_provider_add,
                "create a provider organisation; its users see its cases' ratings, words "
                "and sessions")
    p.add_argument("--name", required=True)
    p = command(group("deputy", "deputies for absent caseworkers"), cmd_deputy_add,
                "a deputy has an absent caseworker's access (audited) and urgent alert mails "
                "from --from to --to")
    p.add_argument("--for", dest="for_email", required=True, help="the absent caseworker")
    p.add_argument("--deputy", required=True, help="who stands in (e-mail)")
    p.add_argument("--from", dest="from_day", required=True, help="the first day, YYYY-MM-DD")
    p.add_argument("--to", dest="to_day", required=True, help="the last day, YYYY-MM-DD")
