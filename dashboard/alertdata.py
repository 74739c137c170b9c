"""What the dashboard shows of stored alerts: who wrote what and when, and the deadline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from consent import audit
from dashboard.casedata import role_name
from reports.categories import category_label
from storage.repo import alerts as repo
from storage.repo.alerts import AlertView
from storage.vault import Vault


@dataclass(frozen=True, slots=True)
class AlertRow:
    """A stored alert as the case page and the case list show it."""

    id: str
    case_id: str
    open: bool
    overdue: bool
    what: str  # the category in the reader's language (or the rule)
    who: str  # the writer's role
    raised_at: datetime
    deadline_at: datetime | None
    escalated_at: datetime | None
    words: str | None
    words_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    note: str | None


def _row(a: AlertView, lang: str, now: datetime) -> AlertRow:
    return AlertRow(
        id=a.id, case_id=a.case_id, open=a.open,
        overdue=a.open and a.deadline_at is not None and a.deadline_at < now,
        what=category_label(a.category, lang) if a.category else a.rule,
        who=role_name(a.role or "other", lang), raised_at=a.raised_at,
        deadline_at=a.deadline_at, escalated_at=a.escalated_at, words=a.words,
        words_at=a.words_at, acknowledged_at=a.acknowledged_at,
        acknowledged_by=a.acknowledged_by, note=a.note)


def case_alert_rows(session: Session, vault: Vault, case_id: str, *, lang: str,
                    now: datetime) -> list[AlertRow]:
    """A case's urgent alerts for its page: open ones first (oldest, nearest its deadline,
    first), then the assessed ones, newest first. The caller audits the view of the case.

    The scoring rules' stored alerts are not here: the page says where the case stands from
    the ratings, and the API and `stemme alert` list and note them."""
    rows = [_row(a, lang, now) for a in repo.case_alerts(session, vault, case_id, words=True)
            if a.severity == "urgent"]
    waiting = [r for r in rows if r.open]
    done = sorted((r for r in rows if not r.open), key=lambda r: r.raised_at, reverse=True)
    return waiting + done


def open_alert_rows(session: Session, vault: Vault, case_ids: list[str], *, lang: str,
                    now: datetime, actor: str) -> dict[str, list[AlertRow]]:
    """The open urgent alerts of listed cases, with their words: each case shown so is
    audited as a view of it."""
    found: dict[str, list[AlertRow]] = {}
    for a in repo.list_alerts(session, vault, case_ids=case_ids, open_only=True, words=True):
        if a.severity == "urgent":
            found.setdefault(a.case_id, []).append(_row(a, lang, now))
    for case_id in found:
        audit.append(session, actor=actor, action="case.view", target=f"case:{case_id}",
                     detail="via=list:alerts", at=now)
    return found
