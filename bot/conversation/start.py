"""Starting surveys, one or a whole sweep batch: facts read once, rows written together.

Everyone in a batch with the same context gets the same first step from the (pure) flow
engine, so it is computed once; what differs per person is only sealed per person: the
conversation state and the outgoing messages, each under that person's own data key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, update
from sqlmodel import Session, col, select

from bot.channels.wire import message_to_dict
from bot.flows import (
    FlowContext,
    InputRejected,
    SendMessage,
    StartSurvey,
    SurveyStarted,
    SurveyState,
    new_state,
    step,
)
from consent import agreements
from scheduler.sweep import Due
from storage import bulk
from storage.crypto import context
from storage.models import Conversation, new_id, table_of
from storage.repo import outbox
from storage.repo.cases import CaseView, view_open_cases
from storage.repo.outbox_batch import OutboxBatch, Row

if TYPE_CHECKING:
    from bot.conversation.host import Surveys

_CONVERSATIONS = table_of(Conversation)
_COLUMNS = ("id", "case_id", "participant_id", "prompt_id", "status", "version", "started_at",
            "updated_at", "remind_at", "expires_at", "state")
_STATUS = _COLUMNS.index("status")
_INSERT = bulk.insert_many(_CONVERSATIONS, _COLUMNS)
_CLOSE_ACTIVE = (update(_CONVERSATIONS)
                 .where(_CONVERSATIONS.c.participant_id == bindparam("pid"),
                        _CONVERSATIONS.c.status == "active")
                 .values(status="replaced", updated_at=bindparam("now")))
# What a first step may say besides its messages; anything else would need a full `_apply`.
_BOOKKEEPING = (InputRejected, SurveyStarted)


class UnexpectedStartEvent(RuntimeError):
    """The engine's first step did more than send messages (a change in the flow engine)."""


@dataclass(frozen=True)
class _First:
    """The engine's first step for one context, shared by everyone who has that context."""

    # Encoded once here, sealed per person: the same bytes for everyone with this context.
    state_json: bytes
    active: bool
    messages: tuple[tuple[int, str, bytes], ...]  # (event index, purpose for the gate, payload)


def start_many(surveys: Surveys, session: Session, due: Sequence[Due], now: datetime, *,
               trigger: str = "sweep") -> list[str | None]:
    """Start a survey for each item (replacing an unfinished one); their conversation ids.

    None where the case is gone or closed. Everything is written in the caller's
    transaction: running surveys closed, conversations, then their messages.
    """
    if not due:
        return []
    batch = _Batch(surveys, session, due, now, trigger)
    ids = [batch.start(item) for item in due]
    batch.write()
    return ids


class _Batch:
    """What one `start_many` call read and is about to write; lives one call long."""

    def __init__(self, surveys: Surveys, session: Session, due: Sequence[Due], now: datetime,
                 trigger: str) -> None:
        self.surveys, self.session, self.now, self.trigger = surveys, session, now, trigger
        people = list(dict.fromkeys(item.participant_id for item in due))
        self.running = set(session.exec(select(Conversation.participant_id).where(
            col(Conversation.participant_id).in_(people), Conversation.status == "active")))
        if len(due) > 1:  # one query for everyone's keys instead of one per person
            surveys.vault.prefetch(session, [("participant", p) for p in people]
                                   + [("case", item.case_id) for item in due])
        by_channel: dict[str, list[str]] = {}
        for item in due:
            by_channel.setdefault(item.channel, []).append(item.participant_id)
        # Read now, in this transaction: a "no" committed a moment ago counts.
        self.agreed: dict[str, agreements.AgreementState] = {}
        for channel, ids in by_channel.items():
            self.agreed.update(agreements.states(session, ids, channel))
        # Only open cases start surveys; their views are opened here, as each would be anyway.
        self.cases = view_open_cases(session, surveys.vault,
                                     list(dict.fromkeys(item.case_id for item in due)))
        self.by_context: dict[tuple[str, str, str, str, bool, bool], _First] = {}
        self.firsts: dict[tuple[Any, ...], _First] = {}
        self.states: dict[tuple[Any, ...], tuple[SurveyState, bytes]] = {}
        self.conversations: list[Row] = []
        self.latest: dict[str, int] = {}  # person -> their newest conversation's row here
        self.closes: list[dict[str, Any]] = []
        # person -> the messages of their newest conversation here, in the engine's order
        self.messages: dict[str, list[Row]] = {}
        # The batch's timestamps, in the driver's terms once for every row.
        dialect = session.get_bind().dialect
        at = bulk.binder(_CONVERSATIONS, "started_at", dialect)
        self.stamps = (at(now), at(now), at(now + surveys.config.remind_after),
                       at(now + surveys.config.expire_after))
        # One clock through the batch: each greeting and its first question stay together.
        self.outbox = OutboxBatch(dialect)

    def start(self, item: Due) -> str | None:
        """Queue one survey start; its conversation id, or None when its case is not open."""
        case = self.cases.get(item.case_id)
        if case is None:
            return None
        person_id, now = item.participant_id, self.now
        earlier = self.latest.get(person_id)
        if earlier is not None:  # due twice in one batch: the newer survey replaces the older,
            row = self.conversations[earlier]  # whose messages are never queued
            if row[_STATUS] == "active":
                self.conversations[earlier] = (*row[:_STATUS], "replaced", *row[_STATUS + 1:])
        elif person_id in self.running:
            self.closes.append({"pid": person_id, "now": now})
        ask = self.surveys.lacks_own_yes(
            self.session, self.agreed.get(person_id, agreements.NOTHING_AGREED), item, now)
        first = self._first(item, case, ask)
        # The conversation state and the messages are the person's: sealed with their key.
        sealer = self.surveys.vault.sealer(self.session, ("participant", person_id), case.id)
        conversation_id = new_id()
        state = sealer.seal(first.state_json, context(_CONVERSATIONS.name, "state",
                                                      conversation_id))
        self.latest[person_id] = len(self.conversations)
        self.conversations.append(
            (conversation_id, case.id, person_id, item.prompt_id,
             "active" if first.active else "completed", 1, *self.stamps, state))
        # Keyed as the engine's step from version 0 of this conversation, as `_apply` keys
        # every later step's messages.
        self.messages[person_id] = [
            self.outbox.row(sealer, participant_id=person_id, case_id=case.id,
                            channel=item.channel, payload=payload, purpose=purpose,
                            key=f"{conversation_id}:0:{index}")
            for index, purpose, payload in first.messages]
        return conversation_id

    def _first(self, item: Due, case: CaseView, ask: bool) -> _First:
        key = (case.id, item.language, item.role, item.channel, ask, item.took_place)
        first = self.by_context.get(key)  # the same person-kind in the same case: known
        if first is None:
            ctx = self.surveys.context(self.session, item, case, self.now, ask_consent=ask)
            # Everything the engine can read from the context, besides the fixed texts:
            # people in different cases with equal contexts share one step too.
            # A discreet context (SMS) never names the child, so its name is not part of it.
            name = None if ctx.is_discreet else ctx.child_name
            memo = (ctx.language, ctx.rater, ctx.age_band, ctx.capabilities, name,
                    tuple(ctx.goals.items()), ctx.ask_consent, ctx.discreet, item.took_place)
            first = self.firsts.get(memo)
            if first is None:
                first = self.firsts[memo] = self._step(ctx, item.took_place, ask)
            self.by_context[key] = first
        return first

    def _step(self, ctx: FlowContext, took_place: bool, ask: bool) -> _First:
        result = step(new_state(), StartSurvey(session_took_place=took_place,
                                               goals=tuple(ctx.goals)), ctx)
        purpose = "reply" if self.trigger == "reply" else ("consent" if ask else "survey")
        messages = []
        for index, event in enumerate(result.events):
            if isinstance(event, SendMessage):
                gate = "stop_confirmation" if event.message.purpose == "stop" else purpose
                body = outbox.payload_json(message_to_dict(event.message))
                messages.append((index, gate, body.encode("utf-8")))
            elif not isinstance(event, _BOOKKEEPING):
                raise UnexpectedStartEvent(
                    f"starting a survey produced {type(event).__name__}; survey_start only "
                    "writes messages, so this start must go through Surveys.handle")
        return _First(self._state_json(result.state), result.state.active, tuple(messages))

    def _state_json(self, state: SurveyState) -> bytes:
        # Contexts that differ only in wording (each case's child) start in equal states, and
        # an equal state has the same JSON: serialised once. A state holds a dict, so it is
        # found by its questions and then compared whole.
        key = (state.at, state.session, state.questions)
        known = self.states.get(key)
        if known is not None and known[0] == state:
            return known[1]
        encoded = state.to_json().encode("utf-8")
        self.states[key] = (state, encoded)
        return encoded

    def write(self) -> None:
        """Close what was running, then insert the new conversations and their messages."""
        connection = self.session.connection()
        if self.closes:  # before the inserts: it closes every active survey of the person
            connection.execute(_CLOSE_ACTIVE, self.closes)
        _INSERT.execute(connection, self.conversations)
        OutboxBatch.write(connection, [row for rows in self.messages.values() for row in rows])
