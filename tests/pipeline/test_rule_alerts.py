"""Rule alerts are stored where ratings change: a survey that completes records the case's
spells (one row when a rule starts to hold, cleared when it stops), the daily run the misses."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot.conversation.alert_spells import record_missed
from bot.conversation.host import Surveys
from bot.conversation.interpreter import Writes
from bot.flows import Text
from reports.casefile import load_case_data
from reports.export import export_document
from reports.rules import DEFAULT_RULES
from storage.blind_index import BlindIndex
from storage.models import Alert, Case, DuePrompt, utcnow
from storage.repo import alerts
from storage.vault import Vault
from tests.pipeline.conftest import World, build_world

WEEK = timedelta(days=7)
STUCK, BETTER = "5 5 5 5", "9 9 9 9"  # outcome totals 20 and 36 (an adult's RC is 5)


def parent_rates(world: World, surveys: Surveys, outcome: str, now: datetime) -> None:
    """The parent answers a whole survey by SMS at `now`: outcome, session (36: no alert)."""
    with Session(world.engine) as session:
        surveys.start(session, world.participant(session, world.parent_id), now)
        session.commit()
    for n, reply in enumerate([outcome, "9 9 9 9", "nej"]):
        with Session(world.engine) as session:
            writes = Writes(session.get_bind().dialect)
            surveys.handle(session, world.participant(session, world.parent_id), Text(reply),
                           now, key=f"{now.isoformat()}:{n}", known=None, writes=writes)
            writes.write(session.connection())
            session.commit()


def rows(world: World) -> list[Alert]:
    with Session(world.engine) as session:
        return list(session.exec(select(Alert).where(Alert.case_id == world.case_id)
                                 .order_by(col(Alert.raised_at), col(Alert.id))).all())


def test_a_case_not_on_track_gets_one_row_at_the_third_rating_and_none_at_the_fourth(
    engine: Engine, vault: Vault, index: BlindIndex
) -> None:
    world = build_world(engine, vault, index)
    surveys = Surveys(vault)
    start = utcnow() - 8 * WEEK

    parent_rates(world, surveys, STUCK, start)
    parent_rates(world, surveys, STUCK, start + WEEK)
    assert rows(world) == []
    parent_rates(world, surveys, STUCK, start + 2 * WEEK)
    after_third = [(r.rule, r.participant_id, r.raised_at, r.cleared_at) for r in rows(world)]
    parent_rates(world, surveys, STUCK, start + 3 * WEEK)

    assert after_third == [("not_on_track", world.parent_id, start + 2 * WEEK, None)]
    assert [(r.rule, r.raised_at, r.cleared_at) for r in rows(world)] == [
        ("not_on_track", start + 2 * WEEK, None)]
    # The JSON export names the rule's alert by its stored row.
    with Session(engine) as session:
        doc = export_document(load_case_data(session, vault, world.case_id, now=utcnow()))
    (row,) = rows(world)
    assert [(a["rule"], a["alert_id"]) for a in doc["alerts"]] == [("not_on_track", row.id)]


def test_a_spell_that_ends_is_cleared_and_a_relapse_gets_a_new_row_and_can_be_noted(
    engine: Engine, vault: Vault, index: BlindIndex
) -> None:
    world = build_world(engine, vault, index)
    surveys = Surveys(vault)
    start = utcnow() - 8 * WEEK
    for n in range(3):
        parent_rates(world, surveys, STUCK, start + n * WEEK)

    parent_rates(world, surveys, BETTER, start + 3 * WEEK)  # +16: reliably better
    (ended,) = rows(world)
    parent_rates(world, surveys, STUCK, start + 4 * WEEK)  # back to where it began

    assert ended.cleared_at == start + 3 * WEEK
    first, relapse = rows(world)
    assert (first.id, first.cleared_at) == (ended.id, start + 3 * WEEK)
    assert (relapse.rule, relapse.raised_at, relapse.cleared_at) == (
        "not_on_track", start + 4 * WEEK, None)
    with Session(engine) as session:
        doc = export_document(load_case_data(session, vault, world.case_id, now=utcnow()))
        alerts.acknowledge(session, vault, alert_id=relapse.id,
                           user_id=_caseworker(session, world), note="Ringer til far",
                           now=utcnow())
        session.commit()
        still_open = alerts.list_alerts(session, vault, case_ids=[world.case_id],
                                        open_only=True)
    assert [(a["rule"], a["alert_id"]) for a in doc["alerts"]] == [
        ("not_on_track", first.id), ("not_on_track", relapse.id)]
    assert [a.id for a in still_open] == [first.id]  # noted: the relapse; not yet: the first


def _caseworker(session: Session, world: World) -> str:
    case = session.get(Case, world.case_id)
    assert case is not None
    return case.caseworker_id


def test_the_daily_run_records_unanswered_prompts_as_a_missing_ratings_spell(
    engine: Engine, vault: Vault, index: BlindIndex
) -> None:
    world = build_world(engine, vault, index)
    now = utcnow()
    with Session(engine) as session:
        for n in (3, 2):
            session.add(DuePrompt(case_id=world.case_id, participant_id=world.parent_id,
                                  kind="session", dedupe_key=f"session:{n}",
                                  due_at=now - n * timedelta(days=1), status="expired"))
        session.commit()

    changed = record_missed(engine, vault, now=now, rules=DEFAULT_RULES)
    again = record_missed(engine, vault, now=now + timedelta(hours=1), rules=DEFAULT_RULES)

    assert (changed, again) == (1, 0)
    (row,) = rows(world)
    assert (row.rule, row.participant_id, row.raised_at) == (
        "missing_ratings", world.parent_id, now - 2 * timedelta(days=1))


@pytest.mark.parametrize("outcome", ["sent", "replaced", "stopped", "declined", "safety",
                                     "missed", "cancelled"])
def test_only_a_question_asked_and_left_unanswered_counts_as_a_missing_rating(
    engine: Engine, vault: Vault, index: BlindIndex, outcome: str
) -> None:
    # Arrange: one expired prompt, then one still running, replaced, ended by a STOP, a
    # declined consent or a safety goodbye, or never sent; and a third expired one.
    world = build_world(engine, vault, index)
    now = utcnow()
    with Session(engine) as session:
        for n, status in ((4, "expired"), (3, outcome), (2, "expired")):
            session.add(DuePrompt(case_id=world.case_id, participant_id=world.parent_id,
                                  kind="session", dedupe_key=f"session:{n}",
                                  due_at=now - n * timedelta(days=1), status=status))
        session.commit()

    # Act
    changed = record_missed(engine, vault, now=now, rules=DEFAULT_RULES)

    # Assert: the two expired ones are two in a row; the one between neither breaks the run
    # as an answer nor adds to it.
    (row,) = rows(world)
    assert changed == 1
    assert (row.rule, row.raised_at) == ("missing_ratings", now - 2 * timedelta(days=1))
