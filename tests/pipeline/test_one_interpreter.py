"""A sweep's survey start, a live answer and a reminder all go through the one interpreter."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from bot.conversation.interpreter import Interpreter, Outcome
from scheduler.prompts import add_prompt
from storage.models import Conversation, Participant, utcnow
from tests.pipeline.harness import Stemme

PHONE = "+4520304050"


class RecordingInterpreter(Interpreter):
    """The real interpreter, noting which purpose each step it applied had."""

    def __init__(self, real: Interpreter) -> None:
        super().__init__(real.vault, real.config)
        self.purposes: list[str] = []

    def apply(self, session: Session, person: Participant, conversation: Conversation | None,
              state: Any, events: Sequence[object], now: datetime, **kwargs: Any) -> Outcome:
        self.purposes.append(kwargs["purpose"])
        return super().apply(session, person, conversation, state, events, now, **kwargs)


async def test_the_sweep_and_a_live_message_use_the_same_interpreter(stemme: Stemme) -> None:
    parent, _ = stemme.add("parent", "sms", phone="+45 20 30 40 50")
    recording = RecordingInterpreter(stemme.services.surveys.interpreter)
    stemme.services.surveys.interpreter = recording
    with Session(stemme.rt.engine) as session:
        person = session.get(Participant, parent)
        assert person is not None
        add_prompt(session, participant=person, kind="followup", dedupe_key="k1",
                   due_at=utcnow() - timedelta(minutes=1))
        session.commit()

    started = stemme.services.sweep()
    await stemme.settle()
    assert await stemme.post_sms("7", PHONE, sid="SM" + "3" * 32) == 200
    await stemme.settle()
    reminded = stemme.services.sweep(utcnow() + timedelta(hours=25))

    assert started["started"] == 1 and reminded["reminded"] == 1
    assert recording.purposes == ["survey", "reply", "reminder"]
