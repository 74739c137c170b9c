"""Retention: closed cases past the period are listed for review, and nothing is destroyed."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlmodel import Session

from consent.retention import closed_for_review
from storage.models import Case
from storage.repo import cases
from storage.repo.users import create_user

NOW = datetime(2026, 11, 23, tzinfo=UTC)


def test_only_cases_closed_longer_than_the_period_are_listed(engine, vault) -> None:
    with Session(engine, expire_on_commit=False) as session:
        worker = create_user(session, email="cw@example.org", role="caseworker", password=None)
        made = {}
        for ref, closed in (("old", datetime(2024, 10, 1, tzinfo=UTC)),
                            ("recent", datetime(2025, 6, 1, tzinfo=UTC)), ("open", None)):
            case = cases.create_case(session, vault, ref=ref, child_name="A",
                                     birth_date=date(2015, 1, 1), caseworker_id=worker.id)
            if closed:
                case.status, case.closed_at = "closed", closed
            made[ref] = case.id
        session.commit()
        assert [c.ref for c in closed_for_review(session, NOW, 24)] == ["old"]
        still = session.get(Case, made["old"])
        assert still is not None and vault.open(session, still, "child_name") == "A"
