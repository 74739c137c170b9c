"""A step's result goes to the database when its queue is written, and the loaded
conversation agrees with it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine
from sqlmodel import Session, select

from storage.blind_index import BlindIndex
from storage.models import Conversation, utcnow
from storage.repo.conversations import StepQueue, save_step
from storage.vault import Vault
from tests.storage.helpers import make_case, make_parent


def test_a_saved_step_is_read_back_in_the_same_transaction_and_after_it(
        engine: Engine, vault: Vault, index: BlindIndex) -> None:
    # Arrange: a running survey, loaded; then changed the way ending a survey changes it.
    later = utcnow() + timedelta(minutes=3)
    with Session(engine, expire_on_commit=False) as session:
        case = make_case(session, vault)
        parent = make_parent(session, vault, index, case)
        conversation = Conversation(case_id=case.id, participant_id=parent.id,
                                    remind_at=utcnow())
        session.add(conversation)
        session.commit()
        conversation.status, conversation.remind_at = "stopped", None

        # Act
        queue = StepQueue()
        save_step(session, conversation, queue, state=b"sealed", updated_at=later,
                  status=conversation.status, remind_at=conversation.remind_at)
        queue.write(session.connection())

        # Assert: nothing left for the session to write; a query sees the new status.
        assert not session.is_modified(conversation)
        assert session.exec(select(Conversation).where(
            Conversation.status == "active")).first() is None
        session.commit()
    with Session(engine) as session:
        stored = session.get(Conversation, conversation.id)
        assert stored is not None
        assert (stored.state, stored.version, stored.status, stored.remind_at,
                stored.updated_at) == (b"sealed", 1, "stopped", None, later)
