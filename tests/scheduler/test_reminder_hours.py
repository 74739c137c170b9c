"""Reminders and expiries keep quiet hours and contact windows, as prompts do, across DST."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from scheduler.sweep import SweepConfig, sweep_conversations
from scheduler.windows import QuietHours
from storage.models import Conversation, Participant
from tests.pipeline.conftest import World, build_world

CPH = SweepConfig().zone
QUIET = SweepConfig(quiet=QuietHours(time(20, 0), time(8, 0)))
PLANNED_GAP = timedelta(hours=48)  # 24 h to the reminder, 72 h to the expiry


def local(y: int, m: int, d: int, hh: int, mm: int = 0, fold: int = 0) -> datetime:
    """A Copenhagen wall-clock time as UTC (fold 1: the second pass of October's repeat hour)."""
    return datetime(y, m, d, hh, mm, tzinfo=CPH, fold=fold).astimezone(UTC)


@dataclass
class Clock:
    """Runs the sweep at given instants and notes when each reminder and expiry happened."""

    engine: Engine
    cfg: SweepConfig = QUIET
    reminded: list[tuple[str, datetime]] = field(default_factory=list)
    expired: list[tuple[str, datetime]] = field(default_factory=list)

    def sweep(self, at: datetime) -> tuple[int, int]:
        def remind(session: Session, c: Conversation) -> None:
            self.reminded.append((c.participant_id, at))

        def expire(session: Session, c: Conversation) -> None:
            self.expired.append((c.participant_id, at))
            c.status = "expired"

        return sweep_conversations(self.engine, at, remind=remind, expire=expire, cfg=self.cfg)

    def every(self, start: datetime, stop: datetime, step: timedelta) -> None:
        at = start
        while at <= stop:
            self.sweep(at)
            at += step


@pytest.fixture
def w(engine: Engine, vault, index) -> World:
    return build_world(engine, vault, index)


def running(w: World, pid: str, remind_at: datetime, *, window: str | None = None) -> str:
    """A survey running for `pid`, reminded at `remind_at` and expiring 48 h after it."""
    with Session(w.engine) as session:
        person = session.get(Participant, pid)
        assert person is not None
        person.contact_window = window
        conversation = Conversation(case_id=w.case_id, participant_id=pid,
                                    remind_at=remind_at, expires_at=remind_at + PLANNED_GAP)
        session.add_all([person, conversation])
        session.commit()
        return conversation.id


def stored(w: World, conversation_id: str) -> Conversation:
    with Session(w.engine) as session:
        conversation = session.get(Conversation, conversation_id)
        assert conversation is not None
        return conversation


def test_a_reminder_due_at_half_past_nine_in_the_evening_goes_at_eight_the_next_morning(
    w: World,
) -> None:
    # Arrange: a survey the child started at 21:30 on Thursday is due its reminder at 21:30.
    cid = running(w, w.child_id, local(2026, 11, 20, 21, 30))
    clock = Clock(w.engine)

    # Act: the sweep runs through the night.
    clock.every(local(2026, 11, 20, 21, 30), local(2026, 11, 21, 7, 59), timedelta(minutes=30))
    night = list(clock.reminded)
    clock.sweep(local(2026, 11, 21, 8))

    # Assert: nothing at night; the reminder at 08:00; the expiry moved as far as the
    # reminder did (10 h 30), so the child has the planned 48 h to answer after it.
    assert night == []
    assert clock.reminded == [(w.child_id, local(2026, 11, 21, 8))]
    assert stored(w, cid).expires_at == local(2026, 11, 21, 8) + PLANNED_GAP
    clock.sweep(local(2026, 11, 21, 9))
    assert len(clock.reminded) == 1  # one reminder, never two


def test_a_reminder_keeps_a_contact_window_a_saturday_reminder_waits_for_monday(
    w: World,
) -> None:
    # Arrange: the parent may be contacted on weekdays 08-16; the reminder falls on Saturday.
    cid = running(w, w.parent_id, local(2026, 11, 21, 10), window="mon-fri 08:00-16:00")
    clock = Clock(w.engine)

    # Act
    clock.sweep(local(2026, 11, 21, 10))

    # Assert: moved to Monday 08:00, and sent then, not before.
    assert clock.reminded == []
    assert stored(w, cid).remind_at == local(2026, 11, 23, 8)
    clock.every(local(2026, 11, 21, 11), local(2026, 11, 23, 8), timedelta(hours=1))
    assert clock.reminded == [(w.parent_id, local(2026, 11, 23, 8))]


def test_a_window_and_quiet_hours_apply_to_each_person_on_their_own(w: World) -> None:
    # Arrange: both are due at 17:00 on a Friday; the parent's window closed at 16:00.
    running(w, w.child_id, local(2026, 11, 20, 17))
    running(w, w.parent_id, local(2026, 11, 20, 17), window="mon-fri 08:00-16:00")
    clock = Clock(w.engine)

    # Act
    reminded, _ = clock.sweep(local(2026, 11, 20, 17))

    # Assert: the child now, the parent not before Monday.
    assert reminded == 1 and clock.reminded == [(w.child_id, local(2026, 11, 20, 17))]


@pytest.mark.parametrize(
    ("due", "expected"),
    [
        # Spring forward: 21:30 CEST on Sunday 29 March waits for 08:00 CEST (06:00 UTC).
        (local(2026, 3, 29, 21, 30), datetime(2026, 3, 30, 6, 0, tzinfo=UTC)),
        # Due at 01:30 CET, just before the clocks skip 02-03: 08:00 CEST the same morning.
        (datetime(2026, 3, 29, 0, 30, tzinfo=UTC), datetime(2026, 3, 29, 6, 0, tzinfo=UTC)),
        # Fall back: 02:30 on 25 October, both times round, waits for 08:00 CET (07:00 UTC).
        (local(2026, 10, 25, 2, 30), datetime(2026, 10, 25, 7, 0, tzinfo=UTC)),
        (local(2026, 10, 25, 2, 30, fold=1), datetime(2026, 10, 25, 7, 0, tzinfo=UTC)),
        # The evening before fall back: 20:00 CEST waits for 08:00 CET, 13 hours later.
        (local(2026, 10, 24, 20, 0), datetime(2026, 10, 25, 7, 0, tzinfo=UTC)),
    ],
)
def test_reminders_wait_for_eight_local_on_the_days_the_clocks_change(
    w: World, due: datetime, expected: datetime
) -> None:
    cid = running(w, w.child_id, due)
    clock = Clock(w.engine)

    clock.sweep(due)
    clock.sweep(expected - timedelta(minutes=1))
    clock.sweep(expected)

    assert clock.reminded == [(w.child_id, expected)]
    assert stored(w, cid).expires_at == expected + PLANNED_GAP


@pytest.mark.parametrize(
    ("saturday", "monday_eight"),
    [
        (local(2026, 3, 28, 10), datetime(2026, 3, 30, 6, 0, tzinfo=UTC)),  # then CEST
        (local(2026, 10, 24, 10), datetime(2026, 10, 26, 7, 0, tzinfo=UTC)),  # then CET
    ],
)
def test_a_weekday_window_across_a_dst_weekend_opens_at_eight_local_on_monday(
    w: World, saturday: datetime, monday_eight: datetime
) -> None:
    cid = running(w, w.parent_id, saturday, window="man-fre 08:00-16:00")
    clock = Clock(w.engine)

    clock.sweep(saturday)

    assert stored(w, cid).remind_at == monday_eight


def test_an_expiry_due_at_night_waits_for_the_morning(w: World) -> None:
    # Arrange: the reminder went out; the survey is due to expire at 23:00.
    with Session(w.engine) as session:
        conversation = Conversation(case_id=w.case_id, participant_id=w.child_id,
                                    expires_at=local(2026, 11, 22, 23))
        session.add(conversation)
        session.commit()
    clock = Clock(w.engine)

    # Act
    clock.every(local(2026, 11, 22, 23), local(2026, 11, 23, 9), timedelta(minutes=30))

    # Assert
    assert clock.expired == [(w.child_id, local(2026, 11, 23, 8))]


def test_a_survey_never_expires_before_its_reminder_had_its_chance_in_the_window(
    w: World,
) -> None:
    # Arrange: the parent may be contacted on Saturdays 10-12 only. Their survey started
    # Saturday at 10:00, so the reminder (Sunday) and the expiry (Tuesday) both fall outside.
    started = local(2026, 11, 21, 10)
    with Session(w.engine) as session:
        person = session.get(Participant, w.parent_id)
        assert person is not None
        person.contact_window = "sat 10:00-12:00"
        session.add_all([person, Conversation(
            case_id=w.case_id, participant_id=w.parent_id, started_at=started,
            remind_at=started + timedelta(hours=24), expires_at=started + timedelta(hours=72))])
        session.commit()
    clock = Clock(w.engine)

    # Act: the sweep runs every half hour for three weeks.
    clock.every(started, started + timedelta(weeks=3), timedelta(minutes=30))

    # Assert: the reminder on the next Saturday at 10:00; the expiry after the planned 48 h,
    # and then only when the window is open again: the Saturday after.
    assert clock.reminded == [(w.parent_id, local(2026, 11, 28, 10))]
    assert clock.expired == [(w.parent_id, local(2026, 12, 5, 10))]


def test_a_window_the_quiet_hours_shut_out_gets_no_reminder_and_still_ends_in_daytime(
    w: World,
) -> None:
    # Arrange: the parent's window (06-07) was saved under other quiet hours; the child's
    # reminder is due at the same moment.
    running(w, w.parent_id, local(2026, 11, 20, 12), window="mon-sun 06:00-07:00")
    running(w, w.child_id, local(2026, 11, 20, 12))
    clock = Clock(w.engine)

    # Act: the sweep runs every half hour for three days.
    clock.every(local(2026, 11, 20, 12), local(2026, 11, 23, 12), timedelta(minutes=30))

    # Assert: the child is reminded and nobody else is held up; the parent is never asked
    # outside their window, and their survey ends at the planned time, which is daytime.
    assert clock.reminded == [(w.child_id, local(2026, 11, 20, 12))]
    assert sorted(clock.expired) == sorted([(w.parent_id, local(2026, 11, 22, 12)),
                                            (w.child_id, local(2026, 11, 22, 12))])
