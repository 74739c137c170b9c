"""Sessions (meetings) after which ratings are asked."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session

from storage.models import Meeting, new_id


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
