"""Runs the pure flow engine against storage: builds its context, applies its events.

One call = one transaction: the new conversation state, the answers, consent changes, alerts
and the outgoing messages are written together, or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import Connection, bindparam, update
from sqlalchemy.engine import Dialect
from sqlmodel import Session, col, select

from bot.channels.catalog import INFO as CHANNEL_INFO
from bot.channels.wire import message_to_dict
from bot.conversation.alert_spells import record_case_alerts
from bot.conversation.start import start_many
from bot.flows import (
    AnswerRecorded,
    ConsentChanged,
    Expire,
    FlowContext,
    FreeTextRecorded,
    Input,
    Remind,
    SafetyConcern,
    SendMessage,
    SurveyCompleted,
    SurveyState,
    load_catalogue,
    load_instruments,
    load_lexicon,
    new_state,
    step,
)
from bot.flows.context import AgeBand, Language, Rater
from consent import agreements, audit
from consent.agreements import age_on
from consent.withdrawal import resume, withdraw
from reports.rules import DEFAULT_RULES, ScoringRules
from scheduler.sweep import Due
from storage.models import (
    Answer,
    Case,
    Conversation,
    DuePrompt,
    FreeText,
    Participant,
)
from storage.repo import outbox
from storage.repo.alerts import raise_safety
from storage.repo.answers import ItemScore, record_answer, record_answers, record_free_text
from storage.repo.cases import CaseView, goal_texts, view_case
from storage.repo.conversations import StepQueue, save_step
from storage.repo.outbox_batch import OutboxQueue
from storage.vault import Vault

# Built once: every inbound message asks for its sender's running survey. PostgreSQL locks
# it for the transaction, so two processes never advance one survey at once.
_RUNNING = (select(Conversation).where(Conversation.participant_id == bindparam("pid"),
                                       Conversation.status == "active")
            .order_by(col(Conversation.started_at).desc()))
_ACTIVE = {False: _RUNNING, True: _RUNNING.with_for_update()}



def age_band(age: int) -> AgeBand:
    """The instrument age band for an age in whole years."""
    if age < 6:
        return "0-5"
    if age < 13:
        return "6-12"
    if age < 18:
        return "13-17"
    return "18+"


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
    """What survey steps write, kept until the step's (or a batch's) end: the replies, the
    new states, and the cases opened on the way."""

    def __init__(self, dialect: Dialect) -> None:
        self.outbox = OutboxQueue(dialect)
        self.steps = StepQueue()
        self.views: dict[str, CaseView] = {}

    def write(self, connection: Connection) -> None:
        """Write the steps and the replies, in the caller's transaction."""
        self.steps.write(connection)
        self.outbox.write(connection)


@dataclass(frozen=True)
class Known:
    """A person's running survey and agreement state, read beforehand (an inbound batch)."""

    conversation: Conversation | None
    agreement: agreements.AgreementState


class Surveys:
    """Starts surveys and feeds them input; the only place flows meet storage."""

    def __init__(self, vault: Vault, config: SurveyConfig | None = None) -> None:
        self.vault = vault
        self.config = config or SurveyConfig()

    # -- context ---------------------------------------------------------------------------
    def context(self, session: Session, person: Participant | Due, case: Case | CaseView,
                now: datetime, *, ask_consent: bool = False) -> FlowContext:
        """What the engine may know about this person right now.

        `case` may come opened already: a sweep batch opens its cases together.
        """
        view = case if isinstance(case, CaseView) else view_case(session, self.vault, case)
        born = view.child_birth_date or date(now.year - 10, 1, 1)
        first_name = (view.child_name or "").split(" ")[0] or None
        language: Language = "en" if person.language == "en" else "da"
        rater: Rater = person.role  # type: ignore[assignment]
        return FlowContext(
            language=language, rater=rater, age_band=age_band(age_on(born, now.date())),
            capabilities=CHANNEL_INFO[person.channel].capabilities,
            instruments=load_instruments(self.config.text_packs_dir),
            catalogue=load_catalogue(language), child_name=first_name,
            goals=dict(goal_texts(session, self.vault, case.id)) if person.role == "child"
            else {},
            ask_consent=ask_consent, lexicon=load_lexicon(self.config.lexicon_path),
        )

    def needs_consent(self, session: Session, person: Participant,
                      now: datetime | None = None) -> bool:
        """True when the person's own yes is missing (or was given before they turned 15)."""
        return self.lacks_own_yes(session, agreements.state(session, person.id, person.channel),
                                  Due.of(person), now or datetime.now(UTC))

    def lacks_own_yes(self, session: Session, state: agreements.AgreementState, person: Due,
                      now: datetime) -> bool:
        """`needs_consent` for an agreement state already read (a batch reads them at once)."""
        age = None
        if person.role == "child" and person.birth_date is not None:
            born = self.vault.open_value(session, table="participants", column="birth_date",
                                         row_id=person.participant_id, blob=person.birth_date)
            age = age_on(date.fromisoformat(born), now.date())
        return not state.own_yes_counts(age)

    # -- starting --------------------------------------------------------------------------
    def start(self, session: Session, person: Participant, now: datetime, *,
              prompt: DuePrompt | None = None, trigger: str = "sweep") -> str | None:
        """Start a survey for `person` (replacing an unfinished one); returns its id."""
        return start_many(self, session, [Due.of(person, prompt)], now, trigger=trigger)[0]

    def start_due(self, session: Session, due: Sequence[Due], now: datetime) -> list[str | None]:
        """Start a sweep batch's surveys together: the sweep's `StartSurveys`."""
        return start_many(self, session, due, now)

    # -- input -----------------------------------------------------------------------------
    def active(self, session: Session, participant_id: str) -> Conversation | None:
        """The participant's running survey, locked for this transaction on PostgreSQL."""
        query = _ACTIVE[session.get_bind().dialect.name == "postgresql"]
        return session.exec(query, params={"pid": participant_id}).first()

    def handle(self, session: Session, person: Participant, event: Input, now: datetime,
               *, key: str, known: Known | None, writes: Writes) -> Outcome:
        """Feed one input from the person; replies are keyed by `key` (the inbox row).

        `known` is what a batch already read in this transaction, before anything changed
        (None: read it now). The replies and the new state go into `writes`, which the batch
        writes at its end (replies: nothing later in the transaction reads or cancels them;
        states: the batch writes them before anything reads conversations afresh).
        """
        case = session.get(Case, person.case_id)
        if case is None:
            return Outcome()
        if known is None:
            conversation = self.active(session, person.id)
            ask = self.needs_consent(session, person, now)
        else:
            conversation = known.conversation
            ask = self.lacks_own_yes(session, known.agreement, Due.of(person), now)
        state = self._load(session, conversation) if conversation else new_state()
        if case.id not in writes.views:
            writes.views[case.id] = view_case(session, self.vault, case)
        ctx = self.context(session, person, writes.views[case.id], now, ask_consent=ask)
        result = step(state, event, ctx)
        return self._apply(session, person, case, conversation, result.state, result.events,
                           now, purpose="reply", key=key, writes=writes)

    def expire(self, session: Session, conversation: Conversation, now: datetime) -> Outcome:
        """The survey was left unfinished too long: keep what was answered, marked partial."""
        return self._feed_system(session, conversation, Expire(), now, "survey")

    def remind(self, session: Session, conversation: Conversation, now: datetime) -> Outcome:
        """Ask once more, gently: the engine repeats the current question."""
        return self._feed_system(session, conversation, Remind(), now, "reminder")

    def _feed_system(self, session: Session, conversation: Conversation, event: Input,
                     now: datetime, purpose: str) -> Outcome:
        person = session.get(Participant, conversation.participant_id)
        case = session.get(Case, conversation.case_id)
        if person is None or case is None:
            return Outcome()
        result = step(self._load(session, conversation), event, self.context(
            session, person, case, now))
        return self._apply(session, person, case, conversation, result.state, result.events,
                           now, purpose=purpose)

    # -- applying events -------------------------------------------------------------------
    def _load(self, session: Session, conversation: Conversation) -> SurveyState:
        text = self.vault.open(session, conversation, "state")
        return SurveyState.from_json(text) if text else new_state()

    def _apply(self, session: Session, person: Participant, case: Case,
               conversation: Conversation | None, state: SurveyState, events: tuple[object, ...],
               now: datetime, *, purpose: str, key: str | None = None,
               writes: Writes | None = None) -> Outcome:
        outcome = Outcome()
        conv_id = conversation.id if conversation else None
        scores: list[ItemScore] = []  # written together: one DELETE and one INSERT
        base = key or f"{conv_id}:{conversation.version if conversation else 0}"
        # This step's messages (in order) and new state; written at the end of this step, or
        # of the batch that passed `writes`. Nothing in between reads the messages, and a
        # withdrawal in this step cancels only prompts, not replies (the STOP confirmation
        # must go out).
        pending = writes if writes is not None else Writes(session.get_bind().dialect)
        words: FreeText | None = None  # the last words this step stored
        for index, event in enumerate(events):
            if isinstance(event, SendMessage):
                # The confirmation of STOP must reach the person who just withdrew.
                gate_purpose = "stop_confirmation" if event.message.purpose == "stop" \
                    else purpose
                pending.outbox.add(self.vault.sealer(session, person.key_owner(), person.case_id),
                             participant_id=person.id, case_id=person.case_id,
                             channel=person.channel, purpose=gate_purpose,
                             key=f"{base}:{index}", payload=outbox.payload_json(
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
            status = conversation.status
            if status == "active" and not state.active:
                status = "completed"
            sealed = self.vault.seal_value(session, table="conversations", column="state",
                                           row_id=conversation.id,
                                           owner=conversation.key_owner(),
                                           case_id=conversation.case_id, value=state.to_json())
            save_step(session, conversation, pending.steps, state=sealed, updated_at=now,
                      status=status, remind_at=conversation.remind_at)
        if writes is None:
            pending.write(session.connection())
        return outcome

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
            session.flush()  # this step's answers too, even where autoflush is off
            session.execute(update(Answer).where(col(Answer.conversation_id) == conversation.id)
                            .values(partial=True))
        ended = {"expired": "expired", "stopped": "stopped"}.get(event.reason, "completed")
        if conversation.status == "active":
            conversation.status = ended
        conversation.remind_at = None
        if conversation.prompt_id:
            prompt = session.get(DuePrompt, conversation.prompt_id)
            if prompt is not None:
                prompt.status = "expired" if ended == "expired" else "answered"
                session.add(prompt)
