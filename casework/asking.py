"""Asking now: a rating request outside the cadence, started at once in the caller's
transaction, never twice while the first question still waits for its answer."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from casework.errors import Invalid
from consent import audit
from scheduler.prompts import add_prompt
from scheduler.sweep import Due, StartSurveys
from scheduler.windows import BadWindow, QuietHours, next_allowed, parse_window
from storage.models import Case, Conversation, DuePrompt, Participant

# A prompt in these states has not started its survey yet (claimed: a sweep is starting it).
_QUEUED = ("pending", "claimed")


@dataclass(frozen=True)
class Starter:
    """How a survey starts at once: the bot's survey start (the runtime hands it down, as the
    sweep gets it) and the hours it keeps (quiet hours; each person's window is their own)."""

    start: StartSurveys
    zone: ZoneInfo
    quiet: QuietHours | None


@dataclass(frozen=True)
class Asked:
    """What asking did: the survey started now (`conversation_id`), or the prompt waits for
    `due_at`, the person's next allowed minute (or the next sweep, without a `Starter`)."""

    prompt_id: str
    due_at: datetime
    conversation_id: str | None

    @property
    def started(self) -> bool:
        """Whether the first question is in the outbox now."""
        return self.conversation_id is not None


def ask_now(session: Session, person: Participant, *, actor: str, now: datetime,
            starter: Starter | None = None) -> Asked:
    """Ask an active rater of an open case for a rating now, outside the cadence; audited.

    With a `starter` the survey starts in this transaction (its first message is in the
    outbox when the caller commits), unless quiet hours or the person's contact window say
    wait: then the prompt is due at the next allowed minute. Without one the running
    server's sweep starts it. Refused (`already_asked`, `ask_queued`) while a survey of the
    person waits for its answer or an earlier request waits for its hour: nothing is sent
    twice, not even a consent question still unanswered.
    """
    # Lock the person (PostgreSQL; SQLite has one writer) so two requests at once do not
    # both find nothing waiting.
    session.exec(select(Participant.id).where(Participant.id == person.id).with_for_update())
    case = session.get(Case, person.case_id)
    if person.status != "active" or case is None or case.status != "open":
        raise Invalid("cannot_ask", participant=person.id, status=person.status,
                      case_status=case.status if case else "?")
    _refuse_a_repeat(session, person)
    key = f"adhoc:{uuid.uuid4().hex}"
    add_prompt(session, participant=person, kind="adhoc", dedupe_key=key, due_at=now)
    prompt = session.exec(select(DuePrompt).where(
        DuePrompt.participant_id == person.id, DuePrompt.dedupe_key == key)).one()
    audit.append(session, actor=actor, action="survey.send", target=f"participant:{person.id}",
                 at=now)
    if starter is None:
        return Asked(prompt.id, now, None)
    try:
        window = parse_window(person.contact_window) if person.contact_window else None
        allowed = next_allowed(now, starter.zone, starter.quiet, window)
    except BadWindow:  # never allowed under today's quiet hours: the sweep marks it missed
        return Asked(prompt.id, now, None)
    if allowed > now:
        prompt.due_at = allowed
        session.add(prompt)
        return Asked(prompt.id, allowed, None)
    (conversation_id,) = starter.start(session, [Due.of(person, prompt)], now)
    prompt.status = "sent" if conversation_id else "cancelled"
    prompt.conversation_id = conversation_id
    session.add(prompt)
    return Asked(prompt.id, now, conversation_id)


def _refuse_a_repeat(session: Session, person: Participant) -> None:
    running = session.exec(select(Conversation).where(
        Conversation.participant_id == person.id, Conversation.status == "active")).first()
    if running is not None:
        raise Invalid("already_asked", participant=person.id,
                      since=running.started_at.isoformat(timespec="minutes"),
                      until=running.expires_at.isoformat(timespec="minutes")
                      if running.expires_at else "?")
    queued = session.exec(select(DuePrompt).where(
        DuePrompt.participant_id == person.id, DuePrompt.kind == "adhoc",
        col(DuePrompt.status).in_(_QUEUED)).order_by(col(DuePrompt.due_at))).first()
    if queued is not None:
        raise Invalid("ask_queued", participant=person.id,
                      due=queued.due_at.isoformat(timespec="minutes"))
