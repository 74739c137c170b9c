"""Starting a sweep batch's surveys together: the same result as one at a time, per person."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot.conversation.host import Surveys
from consent import agreements
from scheduler.sweep import Due
from storage.blind_index import BlindIndex
from storage.models import Case, Conversation, OutboxMessage, utcnow
from storage.repo import cases
from storage.vault import Vault
from tests.pipeline.conftest import World, build_world


def due(world: World, session: Session, pid: str) -> Due:
    return Due.of(world.participant(session, pid))


def messages_for(world: World, pid: str) -> list[dict[str, object]]:
    with Session(world.engine) as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.participant_id == pid)
                            .order_by(col(OutboxMessage.idempotency_key))).all()
        return [json.loads(world.vault.open(session, row, "payload") or "{}")["message"]
                for row in rows]


@pytest.fixture
def world(engine: Engine, vault: Vault, index: BlindIndex) -> World:
    return build_world(engine, vault, index)


def test_a_batch_gives_each_person_their_own_sealed_survey_and_greeting(world: World) -> None:
    # Arrange: the child (Telegram) and the parent (SMS) are due in one batch.
    surveys = Surveys(world.vault)
    with Session(world.engine) as session:
        items = [due(world, session, world.child_id), due(world, session, world.parent_id)]

        # Act
        ids = surveys.start_due(session, items, utcnow())
        session.commit()

    # Assert: two running surveys, each state opened only with its own person's key, and
    # each question shaped for its channel (buttons on Telegram, plain text by SMS).
    assert all(ids) and len(set(ids)) == 2
    with Session(world.engine) as session:
        for conversation_id, pid in zip(ids, (world.child_id, world.parent_id), strict=True):
            conversation = session.get(Conversation, conversation_id)
            assert conversation is not None and conversation.participant_id == pid
            assert conversation.status == "active" and conversation.version == 1
            assert json.loads(world.vault.open(session, conversation, "state") or "")["at"]
    child, parent = messages_for(world, world.child_id), messages_for(world, world.parent_id)
    assert child and any(message["choices"] for message in child)
    assert parent and not any(message["choices"] for message in parent)


def test_a_batch_start_says_the_same_as_starting_one_person_alone(
    engine: Engine, vault: Vault, index: BlindIndex
) -> None:
    # Arrange: two identical worlds; in one the parent starts alone, in the other in a batch.
    alone = build_world(engine, vault, index)
    batched = build_world(engine, vault, index, email="cw2@example.org")
    surveys = Surveys(vault)
    with Session(engine) as session:
        surveys.start(session, alone.participant(session, alone.parent_id), utcnow())
        session.commit()
    with Session(engine) as session:
        surveys.start_due(session, [due(batched, session, batched.child_id),
                                    due(batched, session, batched.parent_id)], utcnow())
        session.commit()

    # Assert: word for word the same messages for the parent.
    assert messages_for(batched, batched.parent_id) == messages_for(alone, alone.parent_id)


def test_someone_due_twice_in_one_batch_keeps_only_the_newer_survey_running(
    world: World,
) -> None:
    surveys = Surveys(world.vault)
    with Session(world.engine) as session:
        parent = due(world, session, world.parent_id)
        first, second = surveys.start_due(session, [parent, parent], utcnow())
        session.commit()

    # Assert: the older survey is replaced and says nothing; the parent hears one greeting.
    with Session(world.engine) as session:
        older, newer = session.get(Conversation, first), session.get(Conversation, second)
        assert older is not None and older.status == "replaced"
        assert newer is not None and newer.status == "active"
        keys = session.exec(select(OutboxMessage.idempotency_key).where(
            OutboxMessage.participant_id == world.parent_id)).all()
    assert keys and all(key.startswith(f"{second}:") for key in keys)


def test_a_batch_replaces_a_survey_left_running_from_before(world: World) -> None:
    surveys = Surveys(world.vault)
    with Session(world.engine) as session:
        old = surveys.start(session, world.participant(session, world.parent_id), utcnow())
        session.commit()

    with Session(world.engine) as session:
        [new] = surveys.start_due(session, [due(world, session, world.parent_id)], utcnow())
        session.commit()

    with Session(world.engine) as session:
        assert session.get(Conversation, old).status == "replaced"  # type: ignore[union-attr]
        assert session.get(Conversation, new).status == "active"  # type: ignore[union-attr]


def test_parents_of_two_children_in_one_batch_start_in_the_state_each_would_alone(
    engine: Engine, vault: Vault, index: BlindIndex
) -> None:
    # Arrange: three cases alike but for the child's name; an SMS never names the child, so
    # the batch computes one first step for both parents.
    alone, first, second = (build_world(engine, vault, index, email=f"cw{n}@example.org")
                            for n in range(3))
    with Session(engine) as session:
        case = session.get(Case, second.case_id)
        assert case is not None
        vault.seal(session, case, "child_name", "Ida")
        session.add(case)
        session.commit()
    surveys = Surveys(vault)
    with Session(engine) as session:
        solo = surveys.start(session, alone.participant(session, alone.parent_id), utcnow())
        session.commit()

    # Act
    with Session(engine) as session:
        ids = surveys.start_due(session, [due(first, session, first.parent_id),
                                          due(second, session, second.parent_id)], utcnow())
        session.commit()

    # Assert: each state is the person's own (opened with their key and row) and the same.
    states = []
    with Session(engine) as session:
        for conversation_id in (solo, *ids):
            conversation = session.get(Conversation, conversation_id)
            assert conversation is not None
            states.append(vault.open(session, conversation, "state"))
    assert states[0] and states[0] == states[1] == states[2]


def test_a_teacher_reads_their_own_pupil_s_name_and_a_parent_by_sms_no_name_in_one_batch(
    engine: Engine, vault: Vault, index: BlindIndex
) -> None:
    # Arrange: two cases alike but for the child's name (Sofie, Ida), each with a teacher on
    # web chat (which names the child) besides the parent on SMS (which never does).
    sofie, ida = (build_world(engine, vault, index, email=f"cw{n}@example.org")
                  for n in range(2))
    teachers = {}
    with Session(engine) as session:
        case = session.get(Case, ida.case_id)
        assert case is not None
        vault.seal(session, case, "child_name", "Ida")
        session.add(case)
        for world in (sofie, ida):
            teacher = cases.add_participant(session, vault, index,
                                            case=cases.get_case(session, world.case_id),
                                            role="teacher", channel="webchat")
            agreements.record(session, teacher, action="given", given_by="self",
                              recorded_by="participant", at=utcnow())
            teachers[world.case_id] = teacher.id
        session.commit()

    # Act: both teachers and both parents start in one batch.
    with Session(engine) as session:
        Surveys(vault).start_due(session, [due(w, session, pid) for w in (sofie, ida)
                                           for pid in (teachers[w.case_id], w.parent_id)],
                                 utcnow())
        session.commit()

    # Assert
    def texts(world: World, pid: str) -> str:
        return " ".join(str(message["text"]) for message in messages_for(world, pid))
    of_sofie, of_ida = texts(sofie, teachers[sofie.case_id]), texts(ida, teachers[ida.case_id])
    assert "Sofie" in of_sofie and "Ida" not in of_sofie
    assert "Ida" in of_ida and "Sofie" not in of_ida
    parents = texts(sofie, sofie.parent_id), texts(ida, ida.parent_id)
    assert parents[0] == parents[1] and "Sofie" not in parents[0] and "Ida" not in parents[0]


def parent_says_no(world: World, session: Session) -> None:
    agreements.record(session, world.participant(session, world.parent_id), action="declined",
                      given_by="self", recorded_by="participant", at=utcnow())


def test_a_no_committed_just_before_the_batch_is_heeded(world: World) -> None:
    # Arrange: the parent says no a moment before the sweep reads agreements.
    surveys = Surveys(world.vault)
    with Session(world.engine) as session:
        parent_says_no(world, session)
        session.commit()

    # Act
    with Session(world.engine) as session:
        surveys.start_due(session, [due(world, session, world.child_id),
                                    due(world, session, world.parent_id)], utcnow())
        session.commit()

    # Assert: the parent is asked for consent, not for ratings; the child gets the survey.
    assert purposes_of(world) == {world.parent_id: {"consent"}, world.child_id: {"survey"}}


def test_a_no_recorded_earlier_in_the_same_transaction_is_heeded(world: World) -> None:
    # Arrange: the "no" is recorded in the batch's own transaction, not yet committed.
    surveys = Surveys(world.vault)
    with Session(world.engine) as session:
        parent_says_no(world, session)

        # Act
        surveys.start_due(session, [due(world, session, world.parent_id)], utcnow())
        session.commit()

    # Assert
    assert purposes_of(world) == {world.parent_id: {"consent"}}


def purposes_of(world: World) -> dict[str, set[str]]:
    """Every queued message's purpose, per person."""
    found: dict[str, set[str]] = {}
    with Session(world.engine) as session:
        for row in session.exec(select(OutboxMessage)).all():
            found.setdefault(str(row.participant_id), set()).add(row.purpose)
    return found


def test_a_batch_that_fails_part_way_writes_nothing(world: World) -> None:
    # Arrange: the second item names a channel nobody has, so the batch raises after the
    # first person's survey was already prepared.
    surveys = Surveys(world.vault)
    with Session(world.engine) as session:
        good = due(world, session, world.parent_id)
        items = [good, Due(world.child_id, world.case_id, "child", "pigeon", "da", None)]

        # Act
        with pytest.raises(KeyError):
            surveys.start_due(session, items, utcnow())
        session.rollback()

    # Assert: no conversation and no message for anyone.
    with Session(world.engine) as session:
        assert not session.exec(select(Conversation)).all()
        assert not session.exec(select(OutboxMessage)).all()


def start_parent_then_child(world: World) -> None:
    """The parent and the child start in one batch, parent first."""
    with Session(world.engine) as session:
        Surveys(world.vault).start_due(session, [due(world, session, world.parent_id),
                                                 due(world, session, world.child_id)], utcnow())
        session.commit()


def test_a_greeting_is_queued_before_its_first_question_even_in_the_same_microsecond(
    world: World,
) -> None:
    # Arrange, act: two people in one batch, so the whole batch is queued within a moment.
    start_parent_then_child(world)

    # Assert: per person, the queue times follow the engine's order strictly (the dispatcher
    # sends a person's messages by queue time, so a tie could put the question first).
    with Session(world.engine) as session:
        for pid in (world.parent_id, world.child_id):
            rows = session.exec(select(OutboxMessage).where(OutboxMessage.participant_id == pid)
                                .order_by(col(OutboxMessage.idempotency_key))).all()
            times = [row.created_at for row in rows]
            assert len(times) >= 2 and times == sorted(set(times))


def test_each_person_s_messages_are_queued_together_not_all_greetings_first(
    world: World,
) -> None:
    # Arrange, act: the dispatcher takes a handful of rows at a time in queue order; if every
    # greeting came before every question, a big batch would keep questions waiting minutes.
    start_parent_then_child(world)

    # Assert: in queue order, the parent's messages, then the child's, without interleaving.
    with Session(world.engine) as session:
        order = session.exec(select(OutboxMessage.participant_id).order_by(
            col(OutboxMessage.not_before), col(OutboxMessage.created_at))).all()
    runs = [pid for n, pid in enumerate(order) if n == 0 or order[n - 1] != pid]
    assert runs == [world.parent_id, world.child_id] and len(order) >= 4
