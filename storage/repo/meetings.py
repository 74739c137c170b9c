"""Sessions (meetings) after which ratings are asked."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from storage.models import DuePrompt, Meeting, new_id


def add_meetings(
    session: Session, *, case_id: str, starts: Sequence[datetime], minutes: int = 45
) -> list[Meeting]:
    """Store one session, or a series (sharing a series id) when several starts are given."""
    if not starts:
        raise ValueError("no session times given")
    series = new_id() if len(starts) > 1 else None
    rows = [Meeting(case_id=case_id, starts_at=s, minutes=minutes, series_id=series)
            for s in starts]
    session.add_all(rows)
    session.flush()
    return rows


def cancel_meetings(session: Session, meeting_id: str, *, series: bool, at: datetime) -> int:
    """Cancel a session (or it and the rest of its series) and any prompts not yet sent."""
    first = session.get(Meeting, meeting_id)
    if first is None:
        raise LookupError(f"no session {meeting_id}")
    query = select(Meeting).where(Meeting.id == meeting_id)
    if series and first.series_id:
        query = select(Meeting).where(Meeting.series_id == first.series_id,
                                      col(Meeting.starts_at) >= first.starts_at)
    rows = [m for m in session.exec(query).all() if m.cancelled_at is None]
    for meeting in rows:
        meeting.cancelled_at = at
        session.add(meeting)
    session.execute(update(DuePrompt).where(
        col(DuePrompt.session_id).in_([m.id for m in rows]),
        col(DuePrompt.status) == "pending").values(status="cancelled"))
    return len(rows)
