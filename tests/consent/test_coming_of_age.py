"""A child who turns 15 decides alone: the earlier yes no longer counts, the caseworker is told."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlmodel import Session, select

from consent import agreements
from consent.coming_of_age import RULE, flag_new_fifteens
from consent.gate import ContactGate
from storage.models import Alert
from storage.repo import cases
from storage.repo.users import create_user

BORN = date(2011, 12, 1)  # turns 15 on 1 December 2026
BEFORE = datetime(2026, 11, 30, 12, tzinfo=UTC)
AFTER = datetime(2026, 12, 1, 12, tzinfo=UTC)


def test_the_yes_given_at_14_stops_counting_on_the_15th_birthday(engine, vault, index) -> None:
    gate = ContactGate(vault)
    with Session(engine, expire_on_commit=False) as session:
        worker = create_user(session, email="cw@example.org", role="caseworker", password=None)
        case = cases.create_case(session, vault, ref="K", child_name="A", birth_date=BORN,
                                 caseworker_id=worker.id)
        child = cases.add_participant(session, vault, index, case=case, role="child",
                                      channel="webchat")
        for given_by in ("guardian", "self"):
            agreements.record(session, child, action="given", given_by=given_by,
                              recorded_by="x", at=datetime(2026, 1, 1, tzinfo=UTC),
                              age_at_time=14)
        session.commit()

        assert gate.may_contact(session, child, "survey", "webchat", BEFORE)
        assert flag_new_fifteens(session, vault, BEFORE) == []

        decision = gate.may_contact(session, child, "survey", "webchat", AFTER)
        assert decision.reason == "consent:own_agreement_needed_at_15"
        assert gate.may_contact(session, child, "consent", "webchat", AFTER)  # may be asked
        assert flag_new_fifteens(session, vault, AFTER) == [child.id]
        assert flag_new_fifteens(session, vault, AFTER) == []  # told once
        assert session.exec(select(Alert.rule)).all() == [RULE]

        agreements.record(session, child, action="given", given_by="self", recorded_by="x",
                          at=AFTER, age_at_time=15)
        assert gate.may_contact(session, child, "survey", "webchat", AFTER)
