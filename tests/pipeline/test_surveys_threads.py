"""A sweep batch's prefetched agreements belong to the sweep's thread alone."""

from __future__ import annotations

import threading

from sqlalchemy import Engine
from sqlmodel import Session

from bot.surveys import Surveys
from consent import agreements
from storage.blind_index import BlindIndex
from storage.models import utcnow
from storage.vault import Vault
from tests.pipeline.conftest import build_world


def test_agreements_a_sweep_prefetched_do_not_answer_for_another_thread(
    engine: Engine, vault: Vault, index: BlindIndex
) -> None:
    # Arrange: the parent has agreed; the sweep's thread prefetches that for its batch.
    world = build_world(engine, vault, index)
    surveys = Surveys(vault)
    with Session(world.engine) as session:
        surveys.prepare(session, [world.participant(session, world.parent_id)])
        assert not surveys.needs_consent(session, world.participant(session, world.parent_id))
    # Meanwhile the parent says no (an inbound message, committed).
    with Session(world.engine) as session:
        agreements.record(session, world.participant(session, world.parent_id),
                          action="declined", given_by="self", recorded_by="participant",
                          at=utcnow())
        session.commit()
    seen: list[bool] = []

    # Act: another thread (inbound processing) asks while the sweep batch is still open.
    def inbound() -> None:
        with Session(world.engine) as session:
            seen.append(surveys.needs_consent(
                session, world.participant(session, world.parent_id)))

    worker = threading.Thread(target=inbound)
    worker.start()
    worker.join()

    # Assert: it read the agreement from the database, not the sweep's snapshot.
    assert seen == [True]
