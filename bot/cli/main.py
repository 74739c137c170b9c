"""The `stemme` command line (also `python -m bot`); every command takes --json."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Sequence

from bot.cli import (
    accounts,
    admin,
    alerts,
    backup,
    cases,
    demo,
    messaging,
    organisation,
    records,
)
from bot.cli.output import CommandError, Output
from bot.cli.refusals import refused
from bot.runtime.parts import Runtime
from bot.runtime.settings import SettingsError, load_settings
from casework.errors import Invalid
from storage.blind_index import InvalidPhoneNumber
from storage.crypto import CryptoError
from storage.db import DatabaseUnavailable
from storage.keys import KeyFileError
from storage.repo.errors import Conflict, NotFound

Handler = Callable[[Runtime, argparse.Namespace, Output], None]


def _serve(rt: Runtime, args: argparse.Namespace, out: Output) -> None:
    from bot.cli.serve import serve

    asyncio.run(serve(rt, args.host or rt.settings.host, args.port or rt.settings.port, out,
                      telegram_polling=args.telegram_polling))


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print exactly one JSON object")
    parser = argparse.ArgumentParser(prog="stemme", parents=[common],
                                     description="Stemme: the child's voice in the case.")
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, handler: Handler, help_: str, into: argparse._SubParsersAction[
            argparse.ArgumentParser] = sub) -> argparse.ArgumentParser:
        p = into.add_parser(name, parents=[common], help=help_, description=help_)
        p.set_defaults(handler=handler)
        return p

    p = command("serve", _serve, "serve webhooks, dashboard, API, scheduler and dispatcher")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--telegram-polling", action="store_true",
                   help="fetch Telegram updates (development without a public URL)")
    command("migrate", admin.cmd_migrate, "bring the database schema up to date")
    p = command("demo", demo.cmd_demo, "seed a demo: a caseworker, two cases, 10 weeks of ratings")
    p.add_argument("--if-empty", action="store_true", help="only seed an empty database")

    users = sub.add_parser("user", help="dashboard users").add_subparsers(dest="sub",
                                                                           required=True)
    p = command("add", admin.cmd_user_add, "create a dashboard user", users)
    p.add_argument("--email", required=True)
    p.add_argument("--role", required=True,
                   choices=["caseworker", "leader", "admin", "provider"])
    p.add_argument("--team", help="the team's name (stemme team add); a leader sees its cases")
    p.add_argument("--provider", help="a provider user's organisation (stemme provider add)")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    p = command("deactivate", admin.cmd_user_deactivate, "deactivate a user: sessions end, "
                "tokens are revoked, their cases go to --handover-to", users)
    p.add_argument("--email", required=True)
    p.add_argument("--handover-to", help="who takes over their cases (needed when they own "
                   "open cases)")
    p = command("reactivate", accounts.cmd_user_reactivate, "let a deactivated user sign in "
                "again (old sessions and tokens stay revoked)", users)
    p.add_argument("--email", required=True)
    p = command("reset-password", accounts.cmd_user_reset_password, "a one-time link (24 h) "
                "for the user to set a new password; printed once", users)
    p.add_argument("--email", required=True)
    tokens = sub.add_parser("token", help="API tokens").add_subparsers(dest="sub",
                                                                       required=True)
    p = command("create", accounts.cmd_token_create, "an API token acting as the user; "
                "printed once as `token`", tokens)
    p.add_argument("--user", required=True, help="the user's e-mail")
    p.add_argument("--name", help="what the token is for, e.g. the case system's name")

    case = sub.add_parser("case", help="cases").add_subparsers(dest="sub", required=True)
    p = command("create", cases.cmd_case_create, "create a case; prints case_id", case)
    p.add_argument("--ref", required=True)
    p.add_argument("--child-name", required=True)
    p.add_argument("--birth-date", required=True, help="YYYY-MM-DD")
    p.add_argument("--caseworker", required=True, help="the caseworker's e-mail")
    p.add_argument("--cadence", default="law-minimum")
    p.add_argument("--provider", help="the case's provider organisation (its name)")
    p = command("close", cases.cmd_case_close, "close a case: nobody is asked anything any "
                "more; kept for the retention review", case)
    p.add_argument("--case", required=True)
    p.add_argument("--reason", help="why (kept sealed with the case)")
    p = command("reopen", cases.cmd_case_reopen, "reopen a closed case; questions go on from "
                "now", case)
    p.add_argument("--case", required=True)
    p = command("handover", cases.cmd_case_handover, "move a case to another caseworker",
                case)
    p.add_argument("--case", required=True)
    p.add_argument("--to", required=True, help="the new caseworker's e-mail")

    part = sub.add_parser("participant", help="raters").add_subparsers(dest="sub", required=True)
    p = command("add", cases.cmd_participant_add, "add a participant to a case", part)
    p.add_argument("--case", required=True)
    p.add_argument("--role", required=True,
                   choices=["child", "parent", "foster_parent", "teacher", "pedagogue", "other"])
    p.add_argument("--channel", required=True, choices=["telegram", "sms", "webchat"])
    p.add_argument("--phone")
    p.add_argument("--name")
    p.add_argument("--language", default="da", choices=["da", "en"])
    p.add_argument("--guardian-consent", action="store_true",
                   help="a custody holder agreed to contact with a child under 15")
    p.add_argument("--window", help="when they may be contacted, e.g. 'mon-fri 08:00-16:00'")
    p.add_argument("--rates", choices=["sessions", "cadence"],
                   help="after each session, or on the case's follow-up cadence (default: "
                        "sessions for child and parents, cadence for teachers and pedagogues)")
    p = command("invite", cases.cmd_participant_invite, "a new invite for a chat rater; their "
                "earlier unused invites and web-chat links stop working", part)
    p.add_argument("--participant", required=True)
    p = command("set", cases.cmd_participant_set, "change a rater's contact window and/or "
                "rating mode", part)
    p.add_argument("--participant", required=True)
    p.add_argument("--window", help="e.g. 'mon-fri 08:00-16:00'; '' for none")
    p.add_argument("--rates", choices=["sessions", "cadence"])

    sess = sub.add_parser("session", help="sessions").add_subparsers(dest="sub", required=True)
    p = command("add", cases.cmd_session_add, "add a session or a recurring series", sess)
    p.add_argument("--case", required=True)
    p.add_argument("--at", required=True, help="ISO 8601; local time unless an offset is given")
    p.add_argument("--minutes", type=int, default=45)
    p.add_argument("--every", help="1w, 2w or 14d")
    p.add_argument("--until", help="YYYY-MM-DD, the last day of the series")
    p = command("cancel", cases.cmd_session_cancel, "cancel a session (or the rest of its "
                "series)", sess)
    p.add_argument("--session", required=True)
    p.add_argument("--series", action="store_true", help="also the later sessions of its series")

    survey = sub.add_parser("survey", help="surveys").add_subparsers(dest="sub", required=True)
    p = command("send", messaging.cmd_survey_send, "ask a participant now, outside the cadence",
                survey)
    p.add_argument("--participant", required=True)

    digest = sub.add_parser("digest", help="weekly digest").add_subparsers(dest="sub",
                                                                           required=True)
    p = command("send", messaging.cmd_digest_send, "send the weekly digest now", digest)
    p.add_argument("--caseworker", help="only this caseworker's digest (e-mail)")

    p = command("export", records.cmd_export, "export a case's progression, or a person's "
                "own data (art. 15)")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--case")
    target.add_argument("--participant")
    p.add_argument("--format", required=True, choices=["png", "svg", "pdf", "csv", "json"])
    p.add_argument("--out", required=True)

    p = command("erase", records.cmd_erase, "export, then crypto-shred a case or a participant")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--case")
    target.add_argument("--participant")
    p.add_argument("--export-dir", help="where the export for the case system is written")

    p = command("retention", records.cmd_retention,
                "list closed cases past the retention period, for review")
    p.add_argument("--months", type=int, default=24)

    p = command("backup", backup.cmd_backup, "a consistent copy of the SQLite database, also "
                "while serving; keep the key file apart from it")
    p.add_argument("--out", required=True, help="the backup file to write")
    p.add_argument("--force", action="store_true", help="replace --out if it exists")

    alert = sub.add_parser("alert", help="alerts").add_subparsers(dest="sub", required=True)
    p = command("list", alerts.cmd_alert_list, "stored alerts, oldest first", alert)
    p.add_argument("--case", help="only this case's alerts")
    p.add_argument("--open", action="store_true", help="only alerts not acknowledged yet")
    p = command("ack", alerts.cmd_alert_ack, "acknowledge an alert as assessed (stops its "
                "escalation); audited", alert)
    p.add_argument("--alert", required=True)
    p.add_argument("--by", required=True, help="the e-mail of the user who assessed it")
    p.add_argument("--note", required=True, help="what was done or decided")

    keys = sub.add_parser("keys", help="encryption keys").add_subparsers(dest="sub",
                                                                        required=True)
    command("rotate", admin.cmd_keys_rotate, "new key versions; re-wrap every data key", keys)
    aud = sub.add_parser("audit", help="audit log").add_subparsers(dest="sub", required=True)
    command("verify", admin.cmd_audit_verify, "check the audit log's hash chain", aud)
    organisation.add_commands(sub, common)
    return parser


# Errors an operator can act on: shown as one line, never a traceback.
EXPECTED = (CommandError, SettingsError, KeyFileError, DatabaseUnavailable, NotFound, Conflict,
            InvalidPhoneNumber, CryptoError, ValueError)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the process exit code."""
    args = build_parser().parse_args(argv)
    out = Output(args.json)
    try:
        rt = Runtime(load_settings())
        try:
            args.handler(rt, args, out)
        except Invalid as exc:  # a refused case action: the operator's line for its code
            raise refused(exc) from None
        finally:
            rt.close()
    except EXPECTED as exc:
        out.error(str(exc), exc.__class__.__name__)
        return int(getattr(exc, "exit_code", 1))  # 2: a configuration `serve` refused
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
