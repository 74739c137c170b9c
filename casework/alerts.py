"""Acknowledging an alert: assessed by a user who may act on its case, with a note."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from casework.access import may_act
from casework.errors import Invalid
from storage.models import Case, User
from storage.repo import alerts
from storage.repo.alerts import NOTE_MAX, AlertView
from storage.repo.errors import NotFound
from storage.vault import Vault


def acknowledge(session: Session, vault: Vault, alert_id: str, *, by: User, note: str,
                via: str, now: datetime, case: Case | None = None) -> AlertView:
    """Mark an alert assessed by `by`: a safety alert's escalation stops; audited.

    `via` is "dashboard", "api" or the command line's actor (`cli:<os user>`): the audit
    names the signed-in user, or on the command line who ran it (`by` is only a claim there).
    With `case`, an alert of another case is NotFound("alert"). Raises Conflict when it was
    already acknowledged or `by` is deactivated.
    """
    try:
        case_id = alerts.alert_case_id(session, alert_id)
    except NotFound:
        if case is not None:
            raise NotFound("alert") from None
        raise
    if case is not None and case_id != case.id:
        raise NotFound("alert")
    owner = case or session.get(Case, case_id)
    if owner is None or not may_act(session, by, owner, now=now):
        raise Invalid("not_their_case", email=by.email, case=case_id)
    note = note.strip()
    if not note or len(note) > NOTE_MAX:
        raise Invalid("alert_note", "note", limit=NOTE_MAX)
    alerts.acknowledge(session, vault, alert_id=alert_id, user_id=by.id, note=note, now=now,
                       via=via)
    return alerts.alert_view(session, vault, alert_id)
