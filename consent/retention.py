"""Retention review: closed cases past the retention period are listed, never destroyed."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from storage.models import Case

DEFAULT_MONTHS = 24


def closed_for_review(session: Session, now: datetime, months: int) -> list[Case]:
    """Closed cases whose retention period has passed; listed for review, never deleted."""
    cutoff = now - timedelta(days=round(months * 30.44))
    return list(session.exec(select(Case).where(
        Case.status == "closed", col(Case.closed_at) < cutoff)
        .order_by(col(Case.closed_at))).all())
