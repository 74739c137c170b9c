"""Sessions: a series in local time, a time window, and cancelling only within the case."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from casework import sessions
from casework.errors import Invalid
from storage.models import Meeting
from storage.repo.errors import NotFound
from tests.casework.conftest import NOW, WORKER, World

CPH = ZoneInfo("Europe/Copenhagen")


def test_a_weekly_series_keeps_its_local_time_across_summer_time(world: World) -> None:
    case = world.case()

    rows = sessions.add_sessions(world.session, case, at=datetime(2026, 3, 26, 15, 0),
                                 minutes=45, every="1w", until=date(2026, 4, 2), zone=CPH,
                                 actor=WORKER, now=NOW)

    assert [r.starts_at.astimezone(CPH).hour for r in rows] == [15, 15]
    assert len({r.series_id for r in rows}) == 1
    assert [e.detail for e in world.audit("session.add")] == ["count=2"]


@pytest.mark.parametrize("at,minutes,every,until,code", [
    (NOW - timedelta(days=2), 45, None, None, "session_time"),
    (NOW + timedelta(days=4 * 365), 45, None, None, "session_time"),
    (NOW + timedelta(days=1), 0, None, None, "minutes"),
    (NOW + timedelta(days=1), 45, "1w", None, "series"),
    (NOW + timedelta(days=1), 45, "fortnightly", date(2026, 6, 1), "series"),
])
def test_a_session_that_cannot_be_planned_is_refused(
    world: World, at: datetime, minutes: int, every: str | None, until: date | None, code: str
) -> None:
    case = world.case()

    with pytest.raises(Invalid) as refused:
        sessions.add_sessions(world.session, case, at=at, minutes=minutes, every=every,
                              until=until, zone=CPH, actor=WORKER, now=NOW)

    assert refused.value.code == code
    assert world.session.exec(select(Meeting)).all() == []


def test_cancelling_the_rest_of_a_series_leaves_the_earlier_sessions(world: World) -> None:
    case = world.case()
    rows = sessions.add_sessions(world.session, case, at=NOW + timedelta(days=7), minutes=45,
                                 every="1w", until=(NOW + timedelta(days=35)).date(), zone=CPH,
                                 actor=WORKER, now=NOW)

    count = sessions.cancel_session(world.session, rows[2].id, series=True, actor="cli:anna",
                                    now=NOW, case=case)

    assert count == 3 and [r.cancelled_at is None for r in rows] == [True, True, False, False,
                                                                       False]
    (entry,) = world.audit("session.cancel")
    assert (entry.actor, entry.detail) == ("cli:anna", "count=3")


def test_a_session_of_another_case_is_not_found_through_this_one(world: World) -> None:
    mine, theirs = world.case(), world.case()
    (meeting,) = sessions.add_sessions(world.session, theirs, at=NOW + timedelta(days=7),
                                       minutes=45, every=None, until=None, zone=CPH,
                                       actor=WORKER, now=NOW)

    with pytest.raises(NotFound) as missing:
        sessions.cancel_session(world.session, meeting.id, series=False, actor=WORKER,
                                now=NOW, case=mine)

    assert str(missing.value) == "session" and meeting.cancelled_at is None
    assert world.audit("session.cancel") == []
