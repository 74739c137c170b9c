"""Answers: an item answered again in the same survey keeps only its newest score."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine
from sqlmodel import Session, select

from storage.blind_index import BlindIndex
from storage.models import Answer, Conversation, utcnow
from storage.repo.answers import ItemScore, participant_answers, record_answers
from storage.vault import Vault
from tests.storage.helpers import make_case, make_parent


def test_answering_an_item_again_replaces_only_that_item_in_that_survey(
        engine: Engine, vault: Vault, index: BlindIndex) -> None:
    # Arrange: two surveys of one parent; the first has three answers.
    now = utcnow()
    with Session(engine, expire_on_commit=False) as session:
        case = make_case(session, vault)
        parent = make_parent(session, vault, index, case)
        first, second = (Conversation(case_id=case.id, participant_id=parent.id)
                         for _ in range(2))
        session.add_all([first, second])
        session.flush()
        record_answers(session, vault, parent, [
            ItemScore("outcome-observer", "1", "me", 4),
            ItemScore("outcome-observer", "1", "family", 5),
            ItemScore("session-adult", "1", "me", 6)], answered_at=now,
            conversation_id=first.id)
        record_answers(session, vault, parent, [ItemScore("outcome-observer", "1", "me", 1)],
                       answered_at=now, conversation_id=second.id)

        # Act: the first survey's "me" answered twice more in one message (the last counts).
        record_answers(session, vault, parent, [
            ItemScore("outcome-observer", "1", "me", 8),
            ItemScore("outcome-observer", "1", "me", 9)],
            answered_at=now + timedelta(minutes=1), conversation_id=first.id)
        session.commit()

        # Assert
        in_first = set(session.exec(select(Answer.id).where(
            Answer.conversation_id == first.id)))
        got = sorted((a.id in in_first, a.instrument, a.item, a.score)
                     for a in participant_answers(session, vault, parent.id))
    assert got == [(False, "outcome-observer", "me", 1.0),
                   (True, "outcome-observer", "family", 5.0),
                   (True, "outcome-observer", "me", 9.0),
                   (True, "session-adult", "me", 6.0)]
