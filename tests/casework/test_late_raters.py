"""Raters who join after a session was planned are asked about it: added late, or back after
a STOP."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlmodel import select

from casework import sessions
from consent.withdrawal import resume, withdraw
from scheduler.planner import PlanConfig, plan_sessions
from storage.models import Case, DuePrompt, Participant
from tests.casework.conftest import NOW, WORKER, World

ZONE = ZoneInfo("Europe/Copenhagen")


def prompts_of(world: World, person: Participant) -> list[tuple[str, str]]:
    query = select(DuePrompt).where(DuePrompt.participant_id == person.id,
                                    DuePrompt.kind == "session")
    return [(p.dedupe_key, p.status) for p in world.session.exec(query)]


def planned_session(world: World) -> tuple[Case, str, Participant]:
    """A case with a child rater and a session tomorrow, already planned."""
    case = world.case()
    child = world.rater(case)
    [meeting] = sessions.add_sessions(world.session, case, at=NOW + timedelta(hours=20),
                                      minutes=45, every=None, until=None, zone=ZONE,
                                      actor=WORKER, now=NOW)
    plan_sessions(world.session, NOW, PlanConfig(horizon=timedelta(days=2)))
    world.session.flush()
    return case, f"session:{meeting.id}", child


def test_a_rater_added_after_planning_is_asked_about_the_next_session(world: World) -> None:
    case, key, child = planned_session(world)

    parent = world.rater(case, role="parent", channel="sms", phone="+4520304050")

    assert prompts_of(world, child) == [(key, "pending")]
    assert prompts_of(world, parent) == [(key, "pending")]


def test_a_rater_back_after_a_stop_is_asked_about_the_session_still_ahead(world: World) -> None:
    _, key, child = planned_session(world)
    withdraw(world.session, child, at=NOW, via="webchat:chat", recorded_by="participant")
    stopped = prompts_of(world, child)

    resume(world.session, child, at=NOW + timedelta(minutes=5), via="webchat:chat")

    assert stopped == [(key, "cancelled")]
    assert prompts_of(world, child) == [(key, "pending")]
