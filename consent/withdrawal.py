"""Stopping contact: withdrawal, opt-out and unreachability cancel everything pending at once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col

from consent import agreements, audit
from storage.models import Conversation, DuePrompt, Participant
from storage.repo.outbox import cancel_pending


def cancel_everything(session: Session, *, participant_id: str | None = None,
                      case_id: str | None = None) -> int:
    """Cancel pending prompts, queued messages and open surveys of a participant or case.

    Runs in the caller's transaction, so nothing queued before the withdrawal is sent after it;
    the dispatcher also asks the gate right before each send, for rows it had already claimed.
    """
    count = cancel_pending(session, participant_id=participant_id, case_id=case_id,
                           purposes=("survey", "reminder", "consent"))
    for model in (DuePrompt, Conversation):
        where = []
        if participant_id:
            where.append(col(model.participant_id) == participant_id)
        if case_id:
            where.append(col(model.case_id) == case_id)
        status_col = col(model.status)
        live = ("pending", "claimed") if model is DuePrompt else ("active",)
        result = session.execute(update(model).where(status_col.in_(live), *where)
                                 .values(status="cancelled" if model is DuePrompt else "stopped"))
        count += int(result.rowcount)  # type: ignore[attr-defined]
    return count


def withdraw(session: Session, person: Participant, *, at: datetime, via: str,
             recorded_by: str = "participant") -> None:
    """The person said stop (chat word, SMS opt-out, or a caseworker on their behalf)."""
    agreements.record(session, person, action="withdrawn", given_by="self",
                      recorded_by=recorded_by, at=at)
    person.status = "withdrawn"
    session.add(person)
    cancel_everything(session, participant_id=person.id)
    audit.append(session, actor=recorded_by, action="consent.withdraw",
                 target=f"participant:{person.id}", detail=f"via={via}", at=at)


def resume(session: Session, person: Participant, *, at: datetime, via: str) -> None:
    """The person said START: contact resumes within what they agreed to before."""
    agreements.record(session, person, action="resumed", given_by="self",
                      recorded_by="participant", at=at)
    if person.status == "withdrawn":
        person.status = "active"
        session.add(person)
    audit.append(session, actor="participant", action="consent.resume",
                 target=f"participant:{person.id}", detail=f"via={via}", at=at)


def mark_unreachable(session: Session, person: Participant, *, at: datetime, reason: str) -> None:
    """The provider says the person cannot be reached (e.g. they blocked the bot)."""
    person.status = "unreachable"
    session.add(person)
    cancel_everything(session, participant_id=person.id)
    audit.append(session, actor="system", action="participant.unreachable",
                 target=f"participant:{person.id}", detail=reason, at=at)
