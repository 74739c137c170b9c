"""The due-prompt sweep with a controllable clock: planned once, sent once, deferred, missed."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, func, select

from scheduler.planner import PlanConfig, plan_followups, plan_sessions
from scheduler.prompts import add_prompt
from scheduler.recurrence import expand
from scheduler.sweep import Due, SweepConfig, sweep_conversations, sweep_due
from scheduler.windows import QuietHours
from storage.models import Case, Conversation, DuePrompt, Participant
from storage.repo.meetings import add_meetings
from tests.pipeline.conftest import World, build_world

CPH = PlanConfig().zone
QUIET = QuietHours(time(20, 0), time(8, 0))


def local(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=CPH).astimezone(UTC)


class Starter:
    """Starts a survey by writing a conversation row, as the real wiring does."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, session: Session, due: Sequence[Due], now: datetime) -> list[str]:
        ids = []
        for item in due:
            conversation = Conversation(case_id=item.case_id, participant_id=item.participant_id,
                                        prompt_id=item.prompt_id)
            session.add(conversation)
            ids.append(conversation.id)
            with self.lock:
                self.started.append(str(item.prompt_id))
        return ids


def prompts(engine: Engine) -> list[DuePrompt]:
    with Session(engine) as session:
        return list(session.exec(select(DuePrompt).order_by(DuePrompt.due_at)).all())


@pytest.fixture
def w(engine: Engine, vault, index) -> World:
    return build_world(engine, vault, index)


def test_weekly_sessions_are_asked_about_at_the_same_local_time_across_both_dst_changes(
    w: World,
) -> None:
    starts = expand(local(2026, 3, 19, 15), timedelta(weeks=1), datetime(2026, 11, 5).date(),
                    CPH)
    with Session(w.engine) as session:
        add_meetings(session, case_id=w.case_id, starts=starts, minutes=45)
        plan_sessions(session, local(2026, 11, 6, 0), PlanConfig())
        session.commit()
    due = {p.due_at.astimezone(CPH).time() for p in prompts(w.engine)}
    assert due == {time(16, 0)}  # 15:00 + 45 min + 15 min, summer and winter alike
    assert len(prompts(w.engine)) == len(starts) * 2  # the child and the parent rate sessions


def test_planning_twice_creates_nothing_new(w: World) -> None:
    with Session(w.engine) as session:
        add_meetings(session, case_id=w.case_id, starts=[local(2026, 11, 20, 10)])
        plan_sessions(session, local(2026, 11, 20, 9), PlanConfig())
        session.commit()
        person = session.get(Participant, w.child_id)
        assert not add_prompt(session, participant=person, kind="session",
                              dedupe_key=prompts(w.engine)[0].dedupe_key, due_at=local(
                                  2026, 11, 20, 12))
    assert len(prompts(w.engine)) == 2


def test_a_prompt_due_in_quiet_hours_waits_for_eight_in_the_morning(w: World) -> None:
    with Session(w.engine) as session:
        add_meetings(session, case_id=w.case_id, starts=[local(2026, 10, 24, 19)], minutes=45)
        plan_sessions(session, local(2026, 10, 24, 18), PlanConfig())
        session.commit()
    starter = Starter()
    result = sweep_due(w.engine, local(2026, 10, 24, 20, 1), SweepConfig(quiet=QUIET), starter,
                       "w1")
    assert (result.started, result.deferred) == (0, 2)
    # The clocks go back that night: 08:00 local on 25 October is 07:00 UTC.
    assert {p.due_at for p in prompts(w.engine)} == {datetime(2026, 10, 25, 7, tzinfo=UTC)}
    result = sweep_due(w.engine, datetime(2026, 10, 25, 7, tzinfo=UTC),
                       SweepConfig(quiet=QUIET), starter, "w1")
    assert result.started == 2


def test_after_three_days_down_each_missed_prompt_is_sent_once_and_old_ones_marked_missed(
    w: World,
) -> None:
    # Sessions ended each day at 10:45 local while the process was down for three days.
    starts = [local(2026, 11, d, 10) for d in (20, 21, 22)]
    with Session(w.engine) as session:
        add_meetings(session, case_id=w.case_id, starts=starts)
        plan_sessions(session, local(2026, 11, 23, 10), PlanConfig())
        session.commit()
    starter = Starter()
    # Back at 10:00 on the 23rd: prompts due 11:00 on the 21st and 22nd are under two days old.
    back_up = local(2026, 11, 23, 10)
    cfg = SweepConfig(quiet=QUIET, max_age=timedelta(days=2))

    first = sweep_due(w.engine, back_up, cfg, starter, "w1")
    second = sweep_due(w.engine, back_up + timedelta(minutes=1), cfg, starter, "w1")

    assert (first.started, first.missed) == (4, 2)  # 21st and 22nd sent; 20th too old
    assert second.started == 0 and len(starter.started) == len(set(starter.started)) == 4
    assert sorted(p.status for p in prompts(w.engine)) == ["missed"] * 2 + ["sent"] * 4


def one_session_on_the_20th(w: World, **parent_fields: str) -> None:
    """A session at 10:00 on 20 November, planned; the parent's row changed as given."""
    with Session(w.engine) as session:
        add_meetings(session, case_id=w.case_id, starts=[local(2026, 11, 20, 10)])
        plan_sessions(session, local(2026, 11, 20, 9), PlanConfig())
        parent = session.get(Participant, w.parent_id)
        for name, value in parent_fields.items():
            setattr(parent, name, value)
        session.add(parent)
        session.commit()


def test_a_withdrawn_participant_s_prompt_is_cancelled_not_started(w: World) -> None:
    one_session_on_the_20th(w, status="withdrawn")
    result = sweep_due(w.engine, local(2026, 11, 20, 12), SweepConfig(), Starter(), "w1")
    assert (result.started, result.cancelled) == (1, 1)


def test_a_window_the_quiet_hours_now_shut_out_is_not_overridden_and_stops_nobody_else(
    w: World,
) -> None:
    # Arrange: the parent's window (mornings 06-07) was saved under other quiet hours; with
    # 20:00-08:00 no minute of it is allowed any more.
    one_session_on_the_20th(w, contact_window="mon-sun 06:00-07:00")
    starter = Starter()

    # Act: the sweep runs at noon.
    result = sweep_due(w.engine, local(2026, 11, 20, 12), SweepConfig(quiet=QUIET), starter,
                       "w1")

    # Assert: the child is asked; the parent is not asked outside their own window, and
    # their prompt is marked missed (a missing rating the caseworker sees), not left pending.
    assert (result.started, result.missed, result.deferred) == (1, 1, 0)
    by_person = {p.participant_id: p.status for p in prompts(w.engine)}
    assert by_person == {w.child_id: "sent", w.parent_id: "missed"}


def test_parallel_raters_are_asked_three_days_before_each_follow_up(w: World) -> None:
    with Session(w.engine) as session:
        parent = session.get(Participant, w.parent_id)
        parent.rates_sessions = False  # a parallel rater on the case's cadence
        case = session.get(Case, w.case_id)
        case.cadence, case.opened_at = "haderslev", local(2026, 9, 1, 9)
        session.add_all([parent, case])
        session.commit()
    cfg = PlanConfig()
    day = local(2026, 9, 1, 12)
    with Session(w.engine) as session:
        for _ in range(100):  # the planner runs every day for 100 days
            plan_followups(session, day, cfg)
            plan_followups(session, day, cfg)  # and twice, harmlessly
            day += timedelta(days=1)
        session.commit()
    due = [p.due_at.astimezone(CPH) for p in prompts(w.engine)]
    # Follow-ups every 6 weeks from 1 September: 13 October, 24 November; asked 3 days before.
    assert [d.date().isoformat() for d in due] == ["2026-10-10", "2026-11-21"]
    assert all(d.time() == time(15, 0) for d in due)


def test_one_reminder_then_expiry(w: World) -> None:
    start = local(2026, 11, 20, 16)
    with Session(w.engine) as session:
        session.add(Conversation(case_id=w.case_id, participant_id=w.child_id,
                                 remind_at=start + timedelta(hours=24),
                                 expires_at=start + timedelta(hours=72)))
        session.commit()
    reminded: list[str] = []
    expired: list[str] = []

    def remind(session: Session, c: Conversation) -> None:
        reminded.append(c.id)

    def expire(session: Session, c: Conversation) -> None:
        expired.append(c.id)
        c.status = "expired"

    for hours in (23, 25, 30, 71, 73, 80):
        sweep_conversations(w.engine, start + timedelta(hours=hours), remind=remind,
                            expire=expire)
    assert (len(reminded), len(expired)) == (1, 1)


@pytest.mark.slow
def test_two_sweepers_on_one_database_start_each_of_5000_prompts_once(
    engine: Engine, vault, index
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("concurrent claiming with SKIP LOCKED is PostgreSQL's; SQLite has one writer")
    w = build_world(engine, vault, index)
    due = local(2026, 11, 20, 12)
    with Session(engine) as session:
        person = session.get(Participant, w.parent_id)
        for n in range(5000):
            add_prompt(session, participant=person, kind="adhoc", dedupe_key=f"adhoc:{n}",
                       due_at=due)
        session.commit()
    starter = Starter()
    cfg = SweepConfig(batch=200)
    threads = [threading.Thread(target=sweep_due, args=(engine, due, cfg, starter, f"w{i}"))
               for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(starter.started) == len(set(starter.started)) == 5000
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Conversation)).one() == 5000
