"""Asking now: a rating request outside the cadence, which the running server's sweep starts."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Session

from casework.errors import Invalid
from consent import audit
from scheduler.prompts import add_prompt
from storage.models import Case, Participant


def ask_now(session: Session, person: Participant, *, actor: str, now: datetime) -> None:
    """Queue one ad-hoc prompt due now for an active rater of an open case; audited.

    Quiet hours and the contact window still apply: the sweep waits for them.
    """
    case = session.get(Case, person.case_id)
    if person.status != "active" or case is None or case.status != "open":
        raise Invalid("cannot_ask", participant=person.id, status=person.status,
                      case_status=case.status if case else "?")
    add_prompt(session, participant=person, kind="adhoc", dedupe_key=f"adhoc:{uuid.uuid4().hex}",
               due_at=now)
    audit.append(session, actor=actor, action="survey.send", target=f"participant:{person.id}",
                 at=now)
