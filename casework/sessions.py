"""Sessions (meetings) of a case: one or a series added, one or the rest of a series cancelled."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session

from casework.errors import Invalid
from consent import audit
from scheduler.recurrence import BadRecurrence, expand, parse_every
from storage.models import Case, Meeting
from storage.repo import meetings
from storage.repo.errors import NotFound

MINUTES_MAX = 24 * 60
PAST = timedelta(days=1)  # a session entered the day after it was held still counts
AHEAD = timedelta(days=3 * 365)


def add_sessions(session: Session, case: Case, *, at: datetime, minutes: int,
                 every: str | None, until: date | None, zone: ZoneInfo, actor: str,
                 now: datetime) -> list[Meeting]:
    """One session, or a series (`every` 1w/2w/14d `until` a day); local times stay local."""
    if not 1 <= minutes <= MINUTES_MAX:
        raise Invalid("minutes", "minutes")
    if at.tzinfo is None:
        at = at.replace(tzinfo=zone)
    if at < now - PAST or at > now + AHEAD:
        raise Invalid("session_time", "at")
    if bool(every) != bool(until):
        raise Invalid("series", "every")
    try:
        starts = expand(at, parse_every(every), until, zone) if every and until else [at]
    except BadRecurrence as exc:
        raise Invalid("series", "every", reason=str(exc)) from None
    if not starts:
        raise Invalid("series", "until")
    rows = meetings.add_meetings(session, case_id=case.id, starts=starts, minutes=minutes)
    audit.append(session, actor=actor, action="session.add", target=f"case:{case.id}",
                 detail=f"count={len(rows)}", at=now)
    return rows


def cancel_session(session: Session, meeting_id: str, *, series: bool, actor: str,
                   now: datetime, case: Case | None = None) -> int:
    """Cancel a session (or it and the rest of its series) and its unsent prompts; audited.

    With `case`, a session of another case is NotFound("session"), like one that never was.
    """
    meeting = session.get(Meeting, meeting_id) if len(meeting_id) <= 32 else None
    if meeting is None or (case is not None and meeting.case_id != case.id):
        raise NotFound("session" if case is not None else f"no session {meeting_id}")
    count = meetings.cancel_meetings(session, meeting_id, series=series, at=now)
    audit.append(session, actor=actor, action="session.cancel", target=f"session:{meeting_id}",
                 detail=f"count={count}", at=now)
    return count
