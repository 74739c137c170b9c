"""The due-prompt sweep: claim due rows in batches, defer quiet hours, start surveys once.

Claiming is one UPDATE ... WHERE id IN (SELECT ... [FOR UPDATE SKIP LOCKED]) per batch, and
the surveys it starts are written in the same transaction. A process that dies mid-batch
commits nothing, so its prompts are simply due again; two processes on PostgreSQL skip each
other's locked rows, so no prompt is started twice.

Reminders and expiries of running surveys (`sweep_conversations`) keep the same hours: what
falls due outside them is moved to the person's next allowed minute.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import Engine, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from scheduler.windows import BadWindow, ContactWindow, QuietHours, next_allowed, parse_window
from storage import bulk
from storage.models import Case, Conversation, DuePrompt, Participant, table_of

log = structlog.get_logger("stemme.sweep")

# Starts the surveys of a batch inside the sweep's transaction; returns one conversation id per
# item, or None where the survey could not start (the prompt is then cancelled, not retried).
StartSurveys = Callable[[Session, Sequence["Due"], datetime], Sequence[str | None]]
ConversationHook = Callable[[Session, Conversation], None]


@dataclass(frozen=True, slots=True)
class Due:
    """A survey to start now, and what the starter needs to know of the person it is for.

    Plain values read in one query, not ORM objects: a sweep batch holds hundreds.
    """

    participant_id: str
    case_id: str
    role: str
    channel: str
    language: str
    birth_date: bytes | None  # sealed; a child's age decides whose consent counts
    prompt_id: str | None = None  # None: started by a reply or by hand, not by a prompt
    kind: str = "adhoc"

    @classmethod
    def of(cls, person: Participant, prompt: DuePrompt | None = None) -> Due:
        """The same from a loaded participant (and the prompt, when there is one)."""
        return cls(person.id, person.case_id, person.role, person.channel, person.language,
                   person.birth_date, prompt_id=prompt.id if prompt else None,
                   kind=prompt.kind if prompt else "adhoc")

    @property
    def took_place(self) -> bool:
        """Whether the survey may ask about a session (only prompts that follow one)."""
        return self.prompt_id is None or self.kind == "session"


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


_PROMPTS = table_of(DuePrompt)
# Every claimed prompt gets its new values: driver-level, a batch updates hundreds.
_SET_PROMPT = bulk.update_many(_PROMPTS, ("status", "due_at", "conversation_id"), where="id")
_PEOPLE, _CASES = table_of(Participant), table_of(Case)
_CLAIMED = (sa_select(_PROMPTS.c.id, _PROMPTS.c.kind, _PROMPTS.c.due_at, _PEOPLE.c.id,
                      _PEOPLE.c.case_id, _PEOPLE.c.role, _PEOPLE.c.channel, _PEOPLE.c.language,
                      _PEOPLE.c.birth_date, _PEOPLE.c.status, _PEOPLE.c.contact_window,
                      _CASES.c.status)
            .join_from(_PROMPTS, _PEOPLE, _PEOPLE.c.id == _PROMPTS.c.participant_id)
            .join(_CASES, _CASES.c.id == _PROMPTS.c.case_id))


def _next_allowed(now: datetime, cfg: SweepConfig, window_text: str | None) -> datetime | None:
    """The first allowed minute, or None when the person's window can never be honoured."""
    window = _window(window_text)
    try:
        return next_allowed(now, cfg.zone, cfg.quiet, window)
    except BadWindow:
        # The quiet hours were changed after the window was saved and now shut it out
        # entirely. Raising would stop the sweep for everyone, at every interval; asking
        # outside the person's own window could reach them when they said not to (a window
        # may keep a parent safe). So the prompt is marked missed, which the caseworker sees
        # as a missing rating, and an operator sees this warning.
        log.warning("contact window never allowed under the quiet hours; prompt missed",
                    window=window_text, quiet=str(cfg.quiet))
        return None


def sweep_batch(engine: Engine, now: datetime, cfg: SweepConfig, start: StartSurveys,
                worker: str) -> tuple[SweepResult, int]:
    """One transaction: mark stale prompts missed, claim a batch and start its surveys."""
    result = SweepResult()
    with Session(engine, expire_on_commit=False) as session:
        result.missed = _mark_missed(session, now, cfg.max_age)
        ids = _claim(session, now, worker, cfg.batch)
        rows = session.execute(_CLAIMED.where(_PROMPTS.c.id.in_(ids))
                               .order_by(_PROMPTS.c.due_at)).all() if ids else []
        updates = _start_all(session, rows, now, cfg, start, result)
        if updates:
            connection = session.connection()
            at = bulk.binder(_PROMPTS, "due_at", connection.dialect)
            _SET_PROMPT.execute(connection, [(u["status"], at(u["due"]), u["cid"], u["pid"])
                                             for u in updates])
        session.commit()
    return result, len(ids)


def _start_all(session: Session, rows: Sequence[Sequence[Any]], now: datetime, cfg: SweepConfig,
               start: StartSurveys, result: SweepResult) -> list[dict[str, Any]]:
    """Decide each claimed prompt's fate, start the surveys due now; the prompts' new values."""
    updates: list[dict[str, Any]] = []
    to_start: list[Due] = []
    allowed_by_window: dict[str | None, datetime | None] = {}
    for (prompt_id, kind, due_at, person_id, case_id, role, channel, language, born,
         person_status, window, case_status) in rows:
        if person_status != "active" or case_status != "open":
            updates.append({"pid": prompt_id, "status": "cancelled", "due": due_at, "cid": None})
            result.cancelled += 1
            continue
        if window not in allowed_by_window:  # most people share "no window of their own"
            allowed_by_window[window] = _next_allowed(now, cfg, window)
        allowed = allowed_by_window[window]
        if allowed is None:
            updates.append({"pid": prompt_id, "status": "missed", "due": due_at, "cid": None})
            result.missed += 1
        elif allowed > now:
            updates.append({"pid": prompt_id, "status": "pending", "due": allowed, "cid": None})
            result.deferred += 1
        else:
            to_start.append(Due(person_id, case_id, role, channel, language, born,
                                prompt_id=prompt_id, kind=kind))
            updates.append({"pid": prompt_id, "status": "sent", "due": due_at, "cid": None})
    started = iter(start(session, to_start, now) if to_start else ())
    for values in updates:
        if values["status"] == "sent":
            values["cid"] = next(started)
            if values["cid"] is None:
                values["status"] = "cancelled"
                result.cancelled += 1
            else:
                result.started += 1
    return updates


def sweep_due(engine: Engine, now: datetime, cfg: SweepConfig, start: StartSurveys,
              worker: str, max_batches: int = 1000) -> SweepResult:
    """Sweep until nothing is due (or `max_batches` ran): memory stays one batch wide."""
    total, started_at = SweepResult(), time.perf_counter()
    for _ in range(max_batches):
        result, claimed = sweep_batch(engine, now, cfg, start, worker)
        total += result
        if claimed < cfg.batch:
            break
    if total.started or total.deferred or total.missed or total.cancelled:  # counts only
        log.info("due prompts swept", started=total.started, deferred=total.deferred,
                 missed=total.missed, cancelled=total.cancelled,
                 duration_ms=round((time.perf_counter() - started_at) * 1000, 1))
    return total


_QUIET_ONLY_NOTE = "contact window never allowed under the quiet hours"


def _reminder_allowed(now: datetime, cfg: SweepConfig, window_text: str | None
                      ) -> datetime | None:
    """When a due reminder may go: now, a later minute, or None (the window never allows one)."""
    try:
        return next_allowed(now, cfg.zone, cfg.quiet, _window(window_text))
    except BadWindow:
        # As for prompts: nobody is asked outside their own window, and the sweep goes on.
        log.warning(f"{_QUIET_ONLY_NOTE}; reminder dropped", quiet=str(cfg.quiet))
        return None


def _expiry_allowed(now: datetime, cfg: SweepConfig, window_text: str | None) -> datetime:
    """When a due expiry may happen: like a reminder, but a survey always ends some time."""
    try:
        return next_allowed(now, cfg.zone, cfg.quiet, _window(window_text))
    except BadWindow:
        # A window the quiet hours shut out cannot be honoured; the quiet hours always can
        # (they never cover a whole day), so the survey still ends, and not at night.
        log.warning(f"{_QUIET_ONLY_NOTE}; expiry by quiet hours alone", quiet=str(cfg.quiet))
        return next_allowed(now, cfg.zone, cfg.quiet, None)


def _conversations_due(engine: Engine, now: datetime, column: str, hook: ConversationHook,
                       batch: int, cfg: SweepConfig) -> int:
    """Run `hook` on the batch of running surveys due by `column` that may be contacted now.

    The others are moved to their person's next allowed minute. A reminder that moves takes
    the expiry with it, so the person has as long to answer after it as was planned.
    """
    done = 0
    with Session(engine, expire_on_commit=False) as session:
        when = getattr(Conversation, column)
        query = (select(Conversation, Participant.contact_window)
                 .join(Participant, col(Participant.id) == col(Conversation.participant_id))
                 .where(col(Conversation.status) == "active", col(when) <= now)
                 .order_by(col(when)).limit(batch))
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(of=Conversation, skip_locked=True)
        allowed_by_window: dict[str | None, datetime | None] = {}
        for conversation, window in session.exec(query).all():
            if window not in allowed_by_window:  # most people share "no window of their own"
                allowed_by_window[window] = (_reminder_allowed(now, cfg, window)
                                             if column == "remind_at"
                                             else _expiry_allowed(now, cfg, window))
            allowed = allowed_by_window[window]
            if column == "expires_at":
                if allowed is not None and allowed > now:  # an expiry always has a time
                    conversation.expires_at = allowed
                else:
                    hook(session, conversation)
                    done += 1
            elif allowed is None:
                conversation.remind_at = None  # the person's window never allows a reminder
            elif allowed > now:
                planned = conversation.remind_at
                conversation.remind_at = allowed
                if planned is not None and conversation.expires_at is not None:
                    conversation.expires_at += allowed - planned
            else:
                hook(session, conversation)
                conversation.remind_at = None  # one reminder, never two
                done += 1
            session.add(conversation)
        session.commit()
    return done


def sweep_conversations(engine: Engine, now: datetime, *, remind: ConversationHook,
                        expire: ConversationHook, batch: int = 500,
                        cfg: SweepConfig | None = None) -> tuple[int, int]:
    """Send the one reminder of unanswered surveys, and expire those left too long.

    Both honour the quiet hours and each person's contact window, as prompts do (`cfg`;
    by default windows only): what is due outside them waits for the next allowed minute.
    """
    cfg = cfg or SweepConfig()
    started_at = time.perf_counter()
    expired = _conversations_due(engine, now, "expires_at", expire, batch, cfg)
    reminded = _conversations_due(engine, now, "remind_at", remind, batch, cfg)
    if reminded or expired:
        log.info("running surveys swept", reminded=reminded, expired=expired,
                 duration_ms=round((time.perf_counter() - started_at) * 1000, 1))
    return reminded, expired
