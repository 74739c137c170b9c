"""Alert commands: list stored alerts, acknowledge one (the same repository as the dashboard)."""

from __future__ import annotations

import argparse
from typing import Any

from sqlmodel import Session

from bot.cli.output import CommandError, Output
from bot.cli.refusals import actor
from bot.runtime.parts import Runtime
from casework.alerts import acknowledge
from storage.db import session_scope
from storage.models import Case, utcnow
from storage.repo import alerts
from storage.repo.alerts import AlertView
from storage.repo.users import require_user


def _item(a: AlertView) -> dict[str, Any]:
    return {"alert_id": a.id, "case_id": a.case_id, "rule": a.rule, "severity": a.severity,
            "category": a.category, "participant_role": a.role,
            "raised_at": a.raised_at.isoformat(),
            "deadline_at": a.deadline_at.isoformat() if a.deadline_at else None,
            "acknowledged_at": a.acknowledged_at.isoformat() if a.acknowledged_at else None,
            "acknowledged_by": a.acknowledged_by,
            "cleared_at": a.cleared_at.isoformat() if a.cleared_at else None}


def _line(a: AlertView) -> str:
    done = "assessed" if a.rule == alerts.SAFETY else "noted"
    state = f"{done} {a.acknowledged_at:%Y-%m-%d %H:%M} by {a.acknowledged_by}" \
        if a.acknowledged_at else "OPEN"
    if a.cleared_at:
        state += f", no longer holds since {a.cleared_at:%Y-%m-%d %H:%M}"
    what = f"{a.rule}/{a.category}" if a.category else a.rule
    return f"{a.id}  case {a.case_id}  {what}  raised {a.raised_at:%Y-%m-%d %H:%M} UTC  {state}"


def cmd_alert_list(rt: Runtime, args: argparse.Namespace, out: Output) -> None:
    """Stored alerts (of one case with --case; unacknowledged only with --open), oldest first.

    No participant's words: those are read on the case page, where reading them is audited.
    """
    with Session(rt.engine) as session:
        if args.case and session.get(Case, args.case) is None:
            raise CommandError(f"no case {args.case}")
        rows = alerts.list_alerts(session, rt.vault,
                                  case_ids=[args.case] if args.case else None,
                                  open_only=args.open)
    out.result({"ok": True, "alerts": [_item(a) for a in rows]},
               "\n".join(_line(a) for a in rows) or "no alerts")


def cmd_alert_ack(rt: Runtime, args: argparse.Namespace, out: Output) -> None:
    """Acknowledge an alert by a user, with a note: a safety alert is assessed (its
    escalation stops), a scoring rule's alert is marked as noted."""
    now = utcnow()
    with session_scope(rt.engine) as session:
        view = acknowledge(session, rt.vault, args.alert, by=require_user(session, args.by),
                           note=args.note, via=actor(), now=now)
    after = "its escalation is cancelled" if view.rule == alerts.SAFETY else "marked as noted"
    out.result({"ok": True, **_item(view)},
               f"alert {view.id} acknowledged by {view.acknowledged_by}; {after}")
