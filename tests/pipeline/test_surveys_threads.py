"""A sweep batch's prefetched agreements belong to the sweep's thread alone."""

from __future__ import annotations

import threading

from sqlalchemy import Engine
from sqlmodel import Session, func, select

from bot.surveys import Surveys
from consent import agreements
from storage.blind_index import BlindIndex
from storage.models import OutboxMessage, utcnow
from storage.vault import Vault
from tests.pipeline.conftest import build_world


def test_agreements_a_sweep_prefetched_do_not_answer_for_another_thread(
    engine: Engine, vault: Vault, index: BlindIndex
) -> None:
    # Arrange: the parent has agreed; the sweep's thread prefetches that for its batch.
    world = build_world(engine, vault, index)
    surveys = Surveys(vault)
    seen: list[bool] = []

    def inbound() -> None:
        with Session(world.engine) as session:
            seen.append(surveys.needs_consent(
                session, world.participant(session, world.parent_id)))

    with Session(world.engine) as sweep, \
            surveys.batch(sweep, [world.participant(sweep, world.parent_id)]):
        assert not surveys.needs_consent(sweep, world.participant(sweep, world.parent_id))
        # Meanwhile the parent says no (an inbound message, committed).
        with Session(world.engine) as session:
            agreements.record(session, world.participant(session, world.parent_id),
                              action="declined", given_by="self", recorded_by="participant",
                              at=utcnow())
            session.commit()

        # Act: another thread (inbound processing) asks while the sweep batch is still open.
        worker = threading.Thread(target=inbound)
        worker.start()
        worker.join()

    # Assert: it read the agreement from the database, not the sweep's snapshot.
    assert seen == [True]


def test_a_failed_sweep_batch_leaves_nothing_behind_in_its_thread(
    engine: Engine, vault: Vault, index: BlindIndex
) -> None:
    # Arrange: a batch gathers a message, then a survey start fails.
    world = build_world(engine, vault, index)
    surveys = Surveys(vault)
    with Session(world.engine) as session:
        parent = world.participant(session, world.parent_id)
        try:
            with surveys.batch(session, [parent]):
                assert surveys.start(session, parent, utcnow())
                raise RuntimeError("a start failed")
        except RuntimeError:
            session.rollback()

    # Act: the same thread then handles an inbound message's survey start.
    with Session(world.engine) as session:
        surveys.start(session, world.participant(session, world.parent_id), utcnow())
        session.commit()

    # Assert: its messages were written now, not gathered for a batch that is gone.
    with Session(world.engine) as session:
        assert session.exec(select(func.count()).select_from(OutboxMessage)).one() > 0
