"""A case's life after it opens: closing it, reopening it, and handing it to another owner.

Closing asks nobody anything any more, at once: planned prompts, queued questions and
reminders and running surveys end in the closing transaction, and each participant who agreed
to contact and can be reached gets one neutral goodbye (through the outbox, in their own
allowed hours). Nothing is deleted: the case waits, closed, for the retention review.
Reopening plans from the reopening on; what fell due while the case was closed is never sent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from casework.errors import Invalid
from consent import audit
from consent.gate import ContactGate
from consent.withdrawal import cancel_everything
from scheduler.planner import PlanConfig, pause_planning, resume_planning
from scheduler.windows import BadWindow, next_allowed, parse_quiet_hours, parse_window
from storage.models import Case, Participant, User
from storage.repo import notices
from storage.repo.outbox import cancel_pending
from storage.repo.outbox_queue import enqueue
from storage.repo.users import user_by_email
from storage.vault import Vault

REASON_MAX = 500
GOODBYE = "goodbye"  # the outbox purpose (consent.gate lets it out of a closed case only)

# The neutral goodbye in a language (the bot's catalogue, `case.goodbye`): the runtime hands
# it in, since casework never imports the bot.
GoodbyeText = Callable[[str], str]


@dataclass(frozen=True, slots=True)
class Closed:
    """What closing did: how much that was running ended, and how many goodbyes are queued."""

    case: Case
    ended: int
    goodbyes: int


def close_case(session: Session, vault: Vault, case: Case, *, actor: str, reason: str | None,
               goodbye: GoodbyeText, zone: ZoneInfo, quiet_hours: str,
               now: datetime) -> Closed:
    """Close an open case: nobody is asked anything after this commit; audited.

    The reason (optional, the caseworker's words) is sealed with the case; the audit log
    only says whether one was given. A closed (or erased) case is refused (`case_not_open`).
    """
    if case.status != "open":
        raise Invalid("case_not_open", case=case.id, status=case.status)
    reason = (reason or "").strip() or None
    if reason is not None and len(reason) > REASON_MAX:
        raise Invalid("close_reason", "reason", limit=REASON_MAX)
    case.status, case.closed_at = "closed", now
    vault.seal(session, case, "closed_reason", reason)
    session.add(case)
    session.flush()  # the gate below reads the case as closed
    ended = pause_planning(session, case, now)
    ended += cancel_everything(session, case_id=case.id)
    goodbyes = _queue_goodbyes(session, vault, case, goodbye=goodbye, zone=zone,
                               quiet_hours=quiet_hours, now=now)
    audit.append(session, actor=actor, action="case.close", target=f"case:{case.id}",
                 detail=f"reason={'yes' if reason else 'no'} goodbyes={goodbyes}", at=now)
    return Closed(case, ended, goodbyes)


def _queue_goodbyes(session: Session, vault: Vault, case: Case, *, goodbye: GoodbyeText,
                    zone: ZoneInfo, quiet_hours: str, now: datetime) -> int:
    """One goodbye per participant the gate would let a message reach, in their hours."""
    gate, quiet = ContactGate(vault), parse_quiet_hours(quiet_hours)
    people = session.exec(select(Participant).where(
        Participant.case_id == case.id, Participant.status == "active")
        .order_by(col(Participant.created_at))).all()
    queued = 0
    for person in people:
        if person.channel == "telegram" and person.chat_id is None:
            continue  # never linked a chat: there is nowhere to say it
        if not gate.may_contact(session, person, GOODBYE, person.channel, now):
            continue
        try:
            window = parse_window(person.contact_window) if person.contact_window else None
            not_before = next_allowed(now, zone, quiet, window)
        except BadWindow:
            continue  # their window is never allowed under these quiet hours: not outside it
        # No case detail and no name: on SMS a wrong phone must learn nothing.
        enqueue(session, vault, participant=person, channel=person.channel,
                message={"text": goodbye(person.language), "purpose": GOODBYE},
                purpose=GOODBYE, key=f"goodbye:{person.id}:{now.isoformat()}",
                not_before=not_before)
        queued += 1
    return queued


def reopen_case(session: Session, case: Case, *, actor: str, zone: ZoneInfo,
                now: datetime) -> None:
    """Reopen a closed case: asked again from now on, nothing that fell due while it was
    closed; a goodbye not sent yet stays unsent. An open case is refused (`case_not_closed`)."""
    if case.status != "closed":
        raise Invalid("case_not_closed", case=case.id, status=case.status)
    case.status, case.closed_at, case.closed_reason = "open", None, None
    session.add(case)
    cancel_pending(session, case_id=case.id, purposes=(GOODBYE,))
    resume_planning(session, case, now, PlanConfig(zone=zone))
    audit.append(session, actor=actor, action="case.reopen", target=f"case:{case.id}", at=now)


def new_owner(session: Session, email: str, *, current: str) -> User:
    """The active user a case moves to (not the one it is with now)."""
    email = email.strip().lower()
    user = user_by_email(session, email) if email else None
    if user is None or not user.active or user.role == "provider":
        raise Invalid("handover_to", "to", email=email)
    if user.id == current:
        raise Invalid("handover_same", "to", email=email)
    return user


def hand_over(session: Session, case: Case, *, to: str, actor: str, now: datetime) -> User:
    """Move the case to another active user, audited; its open alerts go with it.

    Alerts belong to the case, so the new owner sees them at once; urgent notices find the
    caseworker when they are sent, and an open urgent alert's notice is sent again, now, to
    the new owner (the old one was told, the new one must assess it).
    """
    owner = new_owner(session, to, current=case.caseworker_id)
    _move(session, case, owner, actor=actor, now=now, via="handover")
    return owner


def _move(session: Session, case: Case, owner: User, *, actor: str, now: datetime,
          via: str) -> None:
    before = case.caseworker_id
    case.caseworker_id = owner.id
    session.add(case)
    session.flush()
    notices.readdress_case(session, case.id, now=now)
    audit.append(session, actor=actor, action="case.handover", target=f"case:{case.id}",
                 detail=f"from=user:{before} to=user:{owner.id} via={via}", at=now)


def hand_over_all(session: Session, user: User, owner: User, *, actor: str,
                  now: datetime) -> int:
    """Every case of `user` (open and closed) to `owner`, each audited; how many."""
    owned = session.exec(select(Case).where(Case.caseworker_id == user.id,
                                            Case.status != "erased")).all()
    for case in owned:
        _move(session, case, owner, actor=actor, now=now, via="deactivation")
    return len(owned)


def open_cases_of(session: Session, user: User) -> int:
    """How many open cases a user owns."""
    return len(session.exec(select(Case.id).where(Case.caseworker_id == user.id,
                                                  Case.status == "open")).all())

