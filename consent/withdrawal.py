"""Stopping contact: withdrawal, opt-out and unreachability cancel everything pending at once.

Unreachability is not final: a person who unblocks the bot or writes again is reachable
again, within what they agreed to before.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col

from consent import agreements, audit, links
from scheduler.planner import plan_person
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
    # A withdrawn person's web-chat page (and any unused invite) stops working at once.
    links.end_links(session, person, actor=recorded_by, at=at, reason="withdrawal")


def resume(session: Session, person: Participant, *, at: datetime, via: str) -> None:
    """The person said START: contact resumes within what they agreed to before."""
    agreements.record(session, person, action="resumed", given_by="self",
                      recorded_by="participant", at=at)
    if person.status == "withdrawn":
        person.status = "active"
        session.add(person)
        plan_person(session, person, at)  # the questions still ahead, cancelled at the STOP
    audit.append(session, actor="participant", action="consent.resume",
                 target=f"participant:{person.id}", detail=f"via={via}", at=at)


def mark_unreachable(session: Session, person: Participant, *, at: datetime, reason: str) -> None:
    """The provider says the person cannot be reached (e.g. they blocked the bot)."""
    if person.status in ("withdrawn", "erased"):
        # Nothing is sent to them anyway; their status keeps saying why.
        cancel_everything(session, participant_id=person.id)
        return
    person.status = "unreachable"
    session.add(person)
    cancel_everything(session, participant_id=person.id)
    audit.append(session, actor="system", action="participant.unreachable",
                 target=f"participant:{person.id}", detail=reason, at=at)


def mark_reachable(session: Session, person: Participant, *, at: datetime, reason: str) -> bool:
    """An unreachable person can be reached again (unblocked the bot, or wrote to us).

    What they agreed to still holds: no new agreement is asked for, and a withdrawal stays a
    withdrawal. False when they were not unreachable.
    """
    if person.status != "unreachable":
        return False
    withdrawn = agreements.state(session, person.id, person.channel).withdrawn
    person.status = "withdrawn" if withdrawn else "active"
    session.add(person)
    plan_person(session, person, at)
    audit.append(session, actor="system", action="participant.reachable",
                 target=f"participant:{person.id}", detail=reason, at=at)
    return True
