"""Runs the pure flow engine against storage: builds its context, feeds it input.

Every step's events go to the one interpreter (`interpreter.py`), in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from bot.channels.catalog import INFO as CHANNEL_INFO
from bot.conversation.interpreter import Interpreter, Outcome, SurveyConfig, Writes
from bot.conversation.start import start_many
from bot.flows import (
    Expire,
    FlowContext,
    Input,
    Remind,
    SurveyState,
    load_catalogue,
    load_detector,
    load_instruments,
    new_state,
    step,
)
from bot.flows.context import AgeBand, Language, Rater
from consent import agreements
from consent.agreements import age_on
from scheduler.sweep import Due
from storage.models import (
    Case,
    Conversation,
    DuePrompt,
    Participant,
)
from storage.repo.cases import CaseView, goal_texts, view_case
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
class Known:
    """A person's running survey and agreement state, read beforehand (an inbound batch)."""

    conversation: Conversation | None
    agreement: agreements.AgreementState


class Surveys:
    """Starts surveys and feeds them input; the only place flows meet storage."""

    def __init__(self, vault: Vault, config: SurveyConfig | None = None) -> None:
        self.vault = vault
        self.config = config or SurveyConfig()
        self.interpreter = Interpreter(vault, self.config)

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
            ask_consent=ask_consent, detector=load_detector(self.config.lexicon_path),
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
        return self.interpreter.apply(session, person, conversation, result.state,
                                      result.events, now, purpose="reply", key=key,
                                      writes=writes)

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
        writes = Writes(session.get_bind().dialect)
        outcome = self.interpreter.apply(session, person, conversation, result.state,
                                         result.events, now, purpose=purpose, writes=writes)
        writes.write(session.connection())
        return outcome

    # -- applying events -------------------------------------------------------------------
    def _load(self, session: Session, conversation: Conversation) -> SurveyState:
        text = self.vault.open(session, conversation, "state")
        return SurveyState.from_json(text) if text else new_state()
