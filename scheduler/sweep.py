"""The due-prompt sweep: claim due rows in batches, defer quiet hours, start surveys once.

Claiming is one UPDATE ... WHERE id IN (SELECT ... [FOR UPDATE SKIP LOCKED]) per batch, and
the surveys it starts are written in the same transaction. A process that dies mid-batch
commits nothing, so its prompts are simply due again; two processes on PostgreSQL skip each
other's locked rows, so no prompt is started twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from scheduler.windows import BadWindow, ContactWindow, QuietHours, next_allowed, parse_window
from storage.models import Case, Conversation, DuePrompt, Participant

# Starts one survey inside the sweep's transaction; returns the conversation id, or None when
# the survey could not start (the prompt is then cancelled, not retried).
StartSurvey = Callable[[Session, DuePrompt, Participant], str | None]
ConversationHook = Callable[[Session, Conversation], None]
# Entered with everyone in a batch before their surveys start and left before the commit: a
# chance to fetch keys and agreements in one query instead of one per person, and to write
# what was gathered on the way out. Left by an exception, it must forget, not write.
PrepareBatch = Callable[[Session, list[Participant]], AbstractContextManager[None]]


@dataclass(frozen=True)
class SweepConfig:
    """Time zone, quiet hours and limits for one sweep."""

    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/Copenhagen"))
    quiet: QuietHours | None = None
    max_age: timedelta = timedelta(days=2)  # older prompts are marked missed, not sent late
    batch: int = 500


@dataclass
class SweepResult:
    """What one sweep did."""

    started: int = 0
    deferred: int = 0
    missed: int = 0
    cancelled: int = 0

    def __iadd__(self, other: SweepResult) -> SweepResult:
        self.started += other.started
        self.deferred += other.deferred
        self.missed += other.missed
        self.cancelled += other.cancelled
        return self


def _claim(session: Session, now: datetime, worker: str, batch: int) -> list[str]:
    due = (select(DuePrompt.id)
           .where(col(DuePrompt.status) == "pending", col(DuePrompt.due_at) <= now)
           .order_by(col(DuePrompt.due_at)).limit(batch))
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    result = session.execute(
        update(DuePrompt).where(col(DuePrompt.id).in_(due.scalar_subquery()))
        .values(status="claimed", claimed_by=worker, claimed_at=now)
        .returning(col(DuePrompt.id)))
    return [row[0] for row in result]


def _mark_missed(session: Session, now: datetime, max_age: timedelta) -> int:
    result = session.execute(
        update(DuePrompt).where(col(DuePrompt.status) == "pending",
                                col(DuePrompt.due_at) < now - max_age)
        .values(status="missed"))
    return int(result.rowcount)  # type: ignore[attr-defined]


def _window(text: str | None) -> ContactWindow | None:
    # Windows are checked when saved; one that is unreadable anyway must not stop the sweep
    # for everyone else, so it is ignored and the quiet hours still apply.
    if not text:
        return None
    try:
        return parse_window(text)
    except BadWindow:
        return None


def sweep_batch(engine: Engine, now: datetime, cfg: SweepConfig, start: StartSurvey,
                worker: str, prepare: PrepareBatch | None = None) -> tuple[SweepResult, int]:
    """One transaction: mark stale prompts missed, claim a batch and start its surveys."""
    result = SweepResult()
    with Session(engine, expire_on_commit=False) as session:
        result.missed = _mark_missed(session, now, cfg.max_age)
        ids = _claim(session, now, worker, cfg.batch)
        rows = session.exec(
            select(DuePrompt, Participant, Case)
            .join(Participant, col(Participant.id) == DuePrompt.participant_id)
            .join(Case, col(Case.id) == DuePrompt.case_id)
            .where(col(DuePrompt.id).in_(ids)).order_by(col(DuePrompt.due_at))).all()
        people = [person for _, person, _ in rows]
        with prepare(session, people) if prepare is not None else nullcontext():
            _start_all(session, rows, now, cfg, start, result)
        session.commit()
    return result, len(ids)


def _start_all(session: Session, rows: Sequence[tuple[DuePrompt, Participant, Case]],
               now: datetime, cfg: SweepConfig, start: StartSurvey,
               result: SweepResult) -> None:
    for prompt, person, case in rows:
        if person.status != "active" or case.status != "open":
            prompt.status = "cancelled"
            result.cancelled += 1
        else:
            window = _window(person.contact_window)
            allowed = next_allowed(now, cfg.zone, cfg.quiet, window)
            if allowed > now:
                prompt.status, prompt.due_at = "pending", allowed
                result.deferred += 1
            else:
                conversation_id = start(session, prompt, person)
                prompt.status = "sent" if conversation_id else "cancelled"
                prompt.conversation_id = conversation_id
                result.started += bool(conversation_id)
                result.cancelled += not conversation_id
        session.add(prompt)


def sweep_due(engine: Engine, now: datetime, cfg: SweepConfig, start: StartSurvey,
              worker: str, max_batches: int = 1000,
              prepare: PrepareBatch | None = None) -> SweepResult:
    """Sweep until nothing is due (or `max_batches` ran): memory stays one batch wide."""
    total = SweepResult()
    for _ in range(max_batches):
        result, claimed = sweep_batch(engine, now, cfg, start, worker, prepare)
        total += result
        if claimed < cfg.batch:
            break
    return total


def _conversations_due(engine: Engine, now: datetime, column: str, hook: ConversationHook,
                       batch: int) -> int:
    done = 0
    with Session(engine, expire_on_commit=False) as session:
        when = getattr(Conversation, column)
        query = (select(Conversation).where(col(Conversation.status) == "active",
                                            col(when) <= now)
                 .order_by(col(when)).limit(batch))
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        for conversation in session.exec(query).all():
            hook(session, conversation)
            if column == "remind_at":
                conversation.remind_at = None  # one reminder, never two
            session.add(conversation)
            done += 1
        session.commit()
    return done


def sweep_conversations(engine: Engine, now: datetime, *, remind: ConversationHook,
                        expire: ConversationHook, batch: int = 500) -> tuple[int, int]:
    """Send the one reminder of unanswered surveys, and expire those left too long."""
    expired = _conversations_due(engine, now, "expires_at", expire, batch)
    reminded = _conversations_due(engine, now, "remind_at", remind, batch)
    return reminded, expired
