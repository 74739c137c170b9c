"""Starting surveys, one or a whole sweep batch: facts read once, rows written together.

Everyone in a batch with the same context gets the same first step from the (pure) flow
engine, so it is computed once; each person's step then goes through the one interpreter,
which seals the state and the messages under that person's own data key.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, select

from bot.conversation.interpreter import Writes
from bot.flows import FlowContext, StartSurvey, Step, new_state, step
from consent import agreements
from scheduler.sweep import Due
from storage.models import Conversation, Participant, new_id
from storage.repo.cases import CaseView, view_open_cases

if TYPE_CHECKING:
    from bot.conversation.host import Surveys


def start_many(surveys: Surveys, session: Session, due: Sequence[Due], now: datetime, *,
               trigger: str = "sweep") -> list[str | None]:
    """Start a survey for each item (replacing an unfinished one); their conversation ids.

    None where the case is gone or closed. Everything is written in the caller's
    transaction: running surveys closed, conversations, then their messages. Someone due
    twice in one batch gets the newer survey; the older one is recorded as replaced.
    """
    if not due:
        return []
    batch = _Batch(surveys, session, due, now, trigger)
    ids = [batch.start(item, last=index == batch.last[item.participant_id])
           for index, item in enumerate(due)]
    batch.writes.write(session.connection())
    return ids


class _Batch:
    """What one `start_many` call read and is about to write; lives one call long."""

    def __init__(self, surveys: Surveys, session: Session, due: Sequence[Due], now: datetime,
                 trigger: str) -> None:
        self.surveys, self.session, self.now, self.trigger = surveys, session, now, trigger
        self.last = {item.participant_id: index for index, item in enumerate(due)}
        people = list(self.last)
        self.people = {p.id: p for p in session.exec(select(Participant).where(
            col(Participant.id).in_(people)))}
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
        self.by_context: dict[tuple[Any, ...], Step] = {}
        self.firsts: dict[tuple[Any, ...], Step] = {}
        self.writes = Writes(session.get_bind().dialect)

    def start(self, item: Due, *, last: bool) -> str | None:
        """Start one survey; its conversation id, or None when its case is not open."""
        case = self.cases.get(item.case_id)
        person = self.people.get(item.participant_id)
        if case is None or person is None:
            return None
        now, config = self.now, self.surveys.config
        ask = self.surveys.lacks_own_yes(
            self.session, self.agreed.get(person.id, agreements.NOTHING_AGREED), item, now)
        first = self._first(item, case, ask)
        conversation = Conversation(
            id=new_id(), case_id=case.id, participant_id=person.id, prompt_id=item.prompt_id,
            status="active" if last else "replaced", version=0, started_at=now,
            updated_at=now, remind_at=now + config.remind_after,
            expires_at=now + config.expire_after)
        # A survey replaced within this batch never said anything: only its state is kept.
        events = first.events if last else ()
        purpose = "reply" if self.trigger == "reply" else ("consent" if ask else "survey")
        self.surveys.interpreter.apply(self.session, person, conversation, first.state, events,
                                       now, purpose=purpose, writes=self.writes,
                                       replaces_running=person.id in self.running and last)
        return conversation.id

    def _first(self, item: Due, case: CaseView, ask: bool) -> Step:
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
                first = self.firsts[memo] = self._step(ctx, item.took_place)
            self.by_context[key] = first
        return first

    @staticmethod
    def _step(ctx: FlowContext, took_place: bool) -> Step:
        return step(new_state(), StartSurvey(session_took_place=took_place,
                                             goals=tuple(ctx.goals)), ctx)
