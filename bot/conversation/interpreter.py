"""The one interpreter of engine events: what a step said, written to storage.

Live messages, reminders, expiries and survey starts (one person or a sweep's batch) all end
here, so an event means the same whichever way the step began. What a step writes is kept in
`Writes` until the step's (or a batch's) end, then written in the caller's transaction: the
new state, the answers, consent changes, alerts and the outgoing messages, or none of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlmodel import Session

from bot.channels.wire import message_to_dict
from bot.conversation.alert_spells import record_case_alerts
from bot.flows import (
    AnswerRecorded,
    ConsentChanged,
    FreeTextRecorded,
    SafetyConcern,
    SendMessage,
    SurveyCompleted,
    SurveyState,
)
from consent import agreements, audit
from consent.agreements import age_on
from consent.withdrawal import resume, withdraw
from reports.rules import DEFAULT_RULES, ScoringRules
from scheduler.prompts import close_prompt
from storage.models import Conversation, FreeText, Participant
from storage.repo import outbox_queue
from storage.repo.alerts import raise_safety
from storage.repo.answers import (
    ItemScore,
    mark_partial,
    record_answer,
    record_answers,
    record_free_text,
)
from storage.repo.cases import CaseView
from storage.repo.conversations import Started, StepQueue, save_step
from storage.repo.outbox_queue import OutboxQueue
from storage.vault import Vault


@dataclass(frozen=True)
class SurveyConfig:
    """Timing and wording sources for surveys."""

    remind_after: timedelta = timedelta(hours=24)
    expire_after: timedelta = timedelta(hours=72)
    text_packs_dir: Path | None = None
    lexicon_path: Path | None = None
    urgent_deadline: timedelta = timedelta(hours=24)  # the municipality's duty to assess
    escalate_after: timedelta = timedelta(hours=4)  # unacknowledged, then to the team too
    languages: tuple[str, ...] = field(default=("da", "en"))
    rules: ScoringRules = DEFAULT_RULES  # the alert rules in force (settings.rules.rules)


@dataclass
class Outcome:
    """What one step did, for the caller's follow-up work (waking the dispatcher, alerts)."""

    messages: int = 0
    safety_alert_ids: list[str] = field(default_factory=list)
    completed: bool = False


class Writes:
    """What steps write, kept until the step's (or a batch's) end: surveys started, new
    states, the outgoing messages, and the cases opened on the way."""

    def __init__(self, dialect: Dialect) -> None:
        self.started = Started()
        self.steps = StepQueue()
        self.outbox = OutboxQueue(dialect)
        self.views: dict[str, CaseView] = {}

    def write(self, connection: Connection) -> None:
        """Write it all in the caller's transaction: surveys first, then the messages."""
        self.started.write(connection)
        self.steps.write(connection)
        self.outbox.write(connection)


class Interpreter:
    """Applies the events of one engine step for one person."""

    def __init__(self, vault: Vault, config: SurveyConfig) -> None:
        self.vault, self.config = vault, config

    def apply(self, session: Session, person: Participant, conversation: Conversation | None,
              state: SurveyState, events: Sequence[object], now: datetime, *, purpose: str,
              writes: Writes, key: str | None = None,
              replaces_running: bool = False) -> Outcome:
        """Write what the step said. `conversation` is the survey it advanced (None outside
        one; version 0 when this step started it), `purpose` the gate's name for its
        messages, `key` what caused it (an inbox row; else the conversation's version)."""
        outcome = Outcome()
        conv_id = conversation.id if conversation else None
        scores: list[ItemScore] = []  # written together: one DELETE and one INSERT
        base = key or f"{conv_id}:{conversation.version if conversation else 0}"
        words: FreeText | None = None  # the last words this step stored
        for index, event in enumerate(events):
            if isinstance(event, SendMessage):
                # The confirmation of STOP must reach the person who just withdrew.
                gate = "stop_confirmation" if event.message.purpose == "stop" else purpose
                writes.outbox.add(self.vault.sealer(session, person.key_owner(), person.case_id),
                                  participant_id=person.id, case_id=person.case_id,
                                  channel=person.channel, purpose=gate, key=f"{base}:{index}",
                                  payload=outbox_queue.payload_json(
                                      message_to_dict(event.message)).encode("utf-8"))
                outcome.messages += 1
            elif isinstance(event, AnswerRecorded):
                scores.append(ItemScore(event.instrument_id, event.instrument_version,
                                        event.item_id, event.score, skipped=event.skipped))
            elif isinstance(event, FreeTextRecorded):
                words = record_free_text(session, self.vault, person, event.text,
                                         conversation_id=conv_id, at=now, kind=event.kind)
            elif isinstance(event, SafetyConcern):
                # The engine records the words just before the concern they raised (the
                # help button has none): the alert shows the caseworker what was written.
                linked = words.id if words is not None and event.source != "button" else None
                if linked is not None:
                    session.flush()  # the words' row before the alert that points at it
                outcome.safety_alert_ids.append(
                    self._safety_alert(session, person, event, now, linked))
            elif isinstance(event, ConsentChanged):
                self._consent(session, person, event, now)
            elif isinstance(event, SurveyCompleted) and conversation is not None:
                self._record_scores(session, person, conv_id, scores, now)  # marked partial
                self._complete(session, conversation, event, now)
                outcome.completed = True
        self._record_scores(session, person, conv_id, scores, now)
        if outcome.completed:  # new ratings: the case's rule alerts as rows (CONTRACT.md)
            record_case_alerts(session, self.vault, person.case_id, now=now,
                               rules=self.config.rules)
        if conversation is not None:
            self._save(session, conversation, state, writes, now, replaces_running)
        return outcome

    def _save(self, session: Session, conversation: Conversation, state: SurveyState,
              writes: Writes, now: datetime, replaces_running: bool) -> None:
        status = conversation.status
        if status == "active" and not state.active:
            status = "completed"
        sealed = self.vault.seal_value(session, table="conversations", column="state",
                                       row_id=conversation.id, owner=conversation.key_owner(),
                                       case_id=conversation.case_id, value=state.to_json())
        if conversation.version == 0:  # started by this step: not in the table yet
            writes.started.add(session, conversation, state=sealed, status=status,
                               replaces_running=replaces_running)
        else:
            save_step(session, conversation, writes.steps, state=sealed, updated_at=now,
                      status=status, remind_at=conversation.remind_at)

    def _record_scores(self, session: Session, person: Participant, conv_id: str | None,
                       scores: list[ItemScore], now: datetime) -> None:
        """Write the scores gathered so far and empty the list."""
        if not scores:
            return
        if conv_id is None:
            for score in scores:
                record_answer(session, self.vault, person, score, answered_at=now)
        else:
            record_answers(session, self.vault, person, scores, answered_at=now,
                           conversation_id=conv_id)
        scores.clear()

    def _safety_alert(self, session: Session, person: Participant, event: SafetyConcern,
                      now: datetime, free_text_id: str | None) -> str:
        # The alert and its notices (urgent now, escalation later) in this step's transaction.
        return raise_safety(session, self.vault, case_id=person.case_id,
                            participant_id=person.id, category=event.category,
                            free_text_id=free_text_id, now=now,
                            deadline=self.config.urgent_deadline,
                            escalate_after=self.config.escalate_after)

    def _consent(self, session: Session, person: Participant, event: ConsentChanged,
                 now: datetime) -> None:
        if event.action == "withdrawn":
            withdraw(session, person, at=now, via=f"{person.channel}:chat")
        elif event.action == "resumed":
            resume(session, person, at=now, via=f"{person.channel}:chat")
        else:
            age = None
            born = self.vault.open(session, person, "birth_date")
            if born:
                age = age_on(date.fromisoformat(born), now.date())
            agreements.record(session, person, action=event.action, given_by="self",
                              recorded_by="participant", at=now, age_at_time=age,
                              text_version=event.text_version or "1")
            audit.append(session, actor="participant", action=f"consent.{event.action}",
                         target=f"participant:{person.id}", detail=f"via={person.channel}",
                         at=now)

    def _complete(self, session: Session, conversation: Conversation, event: SurveyCompleted,
                  now: datetime) -> None:
        if event.partial:
            mark_partial(session, conversation.id)
        ended = {"expired": "expired", "stopped": "stopped"}.get(event.reason, "completed")
        if conversation.status == "active":
            conversation.status = ended
        conversation.remind_at = None
        if conversation.prompt_id:
            close_prompt(session, conversation.prompt_id, reason=event.reason)
