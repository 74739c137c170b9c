"""Alerts as rows: a safety alert raised with its notices, acknowledged with a note, listed.

A safety alert is written with two notices in the caller's transaction: the urgent e-mail
(due at once) and the escalation to the team (due after `escalate_after`). Acknowledging it
cancels the notices not yet sent, so an assessed alert never escalates. The category and the
note are sealed with the case's key; the words behind the alert stay in `free_texts`, sealed
with the writer's key (and erased with them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import update
from sqlmodel import Session, col, func, select

from consent import audit
from storage.crypto import CryptoError
from storage.models import Alert, Case, FreeText, Notice, Participant, User
from storage.repo.errors import Conflict, NotFound
from storage.vault import Vault

log = structlog.get_logger("stemme.alerts")

SAFETY = "safety"
# Fixed ids (CONTRACT.md, Decisions): storage, exports, the API and the catalogues key on them.
SAFETY_CATEGORIES = ("suicide", "self_harm", "violence", "sexual_abuse", "neglect",
                     "parent_substance", "leave_home", "threats", "forced_control",
                     "asked_for_help")
NOTE_MAX = 2000


def raise_safety(session: Session, vault: Vault, *, case_id: str, participant_id: str,
                 category: str, free_text_id: str | None, now: datetime, deadline: timedelta,
                 escalate_after: timedelta) -> str:
    """Store an urgent safety alert and its two notices in the caller's transaction.

    The urgent notice (to the caseworker) is due now, the escalation (to the team) after
    `escalate_after`. Returns the alert's id.
    """
    if category not in SAFETY_CATEGORIES:
        # Never lose the alert over a name: it is stored as given and shown as a concern.
        log.warning("safety alert with an unknown category", category=category[:40])
    alert = Alert(case_id=case_id, participant_id=participant_id, rule=SAFETY,
                  severity="urgent", raised_at=now, deadline_at=now + deadline,
                  free_text_id=free_text_id)
    vault.seal(session, alert, "category", category)
    # The words first: without relationships the unit of work does not order the two
    # inserts, and the alert's foreign key needs its free text to be there.
    session.flush()
    session.add(alert)
    session.flush()
    session.add(Notice(alert_id=alert.id, kind="urgent", due_at=now, created_at=now))
    session.add(Notice(alert_id=alert.id, kind="escalation", due_at=now + escalate_after,
                       created_at=now))
    session.flush()
    return alert.id


def acknowledge(session: Session, vault: Vault, *, alert_id: str, user_id: str, note: str,
                now: datetime, via: str = "dashboard") -> Alert:
    """Mark an alert assessed by `user_id` with a note; its unsent notices are cancelled.

    Raises NotFound (no such alert or user), Conflict (already acknowledged, or the user is
    deactivated) and ValueError (an empty or too long note). Audited in the same transaction.
    """
    alert = session.get(Alert, alert_id) if len(alert_id) <= 32 else None
    if alert is None:
        raise NotFound(f"no alert {alert_id}")
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}")
    if not user.active:
        raise Conflict(f"user {user.email} is deactivated")
    note = note.strip()
    if not note:
        raise ValueError("an assessment needs a note: say what was done or decided")
    if len(note) > NOTE_MAX:
        raise ValueError(f"the note is longer than {NOTE_MAX} characters")
    sealed = vault.seal_value(session, table="alerts", column="note", row_id=alert.id,
                              owner=alert.key_owner(), case_id=alert.case_id, value=note)
    # Conditional, so two people assessing at once cannot both win.
    done = session.execute(update(Alert).where(col(Alert.id) == alert.id,
                                               col(Alert.acknowledged_at).is_(None))
                           .values(acknowledged_at=now, acknowledged_by=user.id, note=sealed))
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"alert {alert.id} was already acknowledged")
    session.execute(update(Notice).where(col(Notice.alert_id) == alert.id,
                                         col(Notice.status) == "pending")
                    .values(status="cancelled", last_error="acknowledged"))
    # The actor is who was signed in; on the command line, the operating-system user that ran
    # it (`via`), since `--by` is a claim nobody checked.
    actor = user.email if via in ("dashboard", "api") else via
    audit.append(session, actor=actor, action="alert.ack", target=f"alert:{alert.id}",
                 detail=f"case={alert.case_id} rule={alert.rule} by={user.email} via={via}",
                 at=now)
    session.refresh(alert)
    return alert


@dataclass(frozen=True, slots=True)
class AlertView:
    """A stored alert with its category and note opened, and (when asked) the words."""

    id: str
    case_id: str
    participant_id: str | None
    role: str | None  # the writer's role in the case
    rule: str
    severity: str
    category: str | None
    raised_at: datetime
    deadline_at: datetime | None
    notified_at: datetime | None
    escalated_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None  # the user's e-mail
    note: str | None
    words: str | None = None  # None: not asked for, none stored, or erased with the writer
    words_at: datetime | None = None
    detail: str | None = None  # a scoring rule's alert: what it measured (no names, no words)
    cleared_at: datetime | None = None  # a scoring rule's spell ended (never for safety)

    @property
    def open(self) -> bool:
        """Not acknowledged yet."""
        return self.acknowledged_at is None


def _opened(session: Session, vault: Vault, row: Alert, column: str) -> str | None:
    try:
        return vault.open(session, row, column)
    except CryptoError:  # the key was destroyed (erasure): nothing left to show
        return None


def _words(session: Session, vault: Vault, row: Alert,
           people: dict[str, Participant]) -> tuple[str | None, datetime | None]:
    if row.free_text_id is None:
        return None, None
    text = session.get(FreeText, row.free_text_id)
    writer = people.get(text.participant_id) if text else None
    if text is None or writer is None or writer.status == "erased":
        return None, None
    try:
        return vault.open(session, text, "text"), text.created_at
    except CryptoError:
        return None, None


def _views(session: Session, vault: Vault, rows: list[Alert], *,
           words: bool) -> list[AlertView]:
    person_ids = {r.participant_id for r in rows if r.participant_id}
    people = {p.id: p for p in session.exec(
        select(Participant).where(col(Participant.id).in_(person_ids)))} if person_ids else {}
    user_ids = {r.acknowledged_by for r in rows if r.acknowledged_by}
    emails = dict(session.exec(select(User.id, User.email).where(
        col(User.id).in_(user_ids))).all()) if user_ids else {}
    out = []
    for r in rows:
        person = people.get(r.participant_id or "")
        said, said_at = _words(session, vault, r, people) if words else (None, None)
        out.append(AlertView(
            id=r.id, case_id=r.case_id, participant_id=r.participant_id,
            role=person.role if person else None, rule=r.rule, severity=r.severity,
            category=_opened(session, vault, r, "category"), raised_at=r.raised_at,
            deadline_at=r.deadline_at, notified_at=r.notified_at, escalated_at=r.escalated_at,
            acknowledged_at=r.acknowledged_at,
            acknowledged_by=emails.get(r.acknowledged_by or "", r.acknowledged_by),
            note=_opened(session, vault, r, "note"), words=said, words_at=said_at,
            detail=_opened(session, vault, r, "detail"), cleared_at=r.cleared_at))
    return out


def list_alerts(session: Session, vault: Vault, *, case_ids: list[str] | None = None,
                open_only: bool = False, words: bool = False,
                rule: str | None = None) -> list[AlertView]:
    """Stored alerts, oldest first: of these cases (None: every case not erased).

    `words` opens what the person wrote behind each safety alert: the caller audits that.
    """
    query = (select(Alert).join(Case, col(Case.id) == Alert.case_id)
             .where(Case.status != "erased"))
    if case_ids is not None:
        if not case_ids:
            return []
        query = query.where(col(Alert.case_id).in_(case_ids))
    if open_only:
        query = query.where(col(Alert.acknowledged_at).is_(None))
    if rule is not None:
        query = query.where(Alert.rule == rule)
    rows = list(session.exec(query.order_by(col(Alert.raised_at), col(Alert.id))).all())
    return _views(session, vault, rows, words=words)


def case_alerts(session: Session, vault: Vault, case_id: str, *,
                words: bool = False) -> list[AlertView]:
    """One case's stored alerts, oldest first."""
    return list_alerts(session, vault, case_ids=[case_id], words=words)


def alert_view(session: Session, vault: Vault, alert_id: str, *,
               words: bool = False) -> AlertView:
    """One stored alert, or NotFound."""
    row = session.get(Alert, alert_id) if len(alert_id) <= 32 else None
    if row is None:
        raise NotFound(f"no alert {alert_id}")
    return _views(session, vault, [row], words=words)[0]


def alert_case_id(session: Session, alert_id: str) -> str:
    """The case an alert belongs to, or NotFound (for access checks before acting)."""
    row = session.get(Alert, alert_id) if len(alert_id) <= 32 else None
    if row is None:
        raise NotFound(f"no alert {alert_id}")
    return row.case_id


def open_by_rule(session: Session) -> dict[str, int]:
    """Alerts neither acknowledged nor cleared, per rule."""
    rows = session.exec(select(Alert.rule, func.count())
                        .where(col(Alert.acknowledged_at).is_(None),
                               col(Alert.cleared_at).is_(None))
                        .group_by(Alert.rule)).all()
    return {rule: int(count) for rule, count in rows}
