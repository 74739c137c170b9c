"""The scoring rules' alerts as rows: one per rule and person per spell, cleared when the
rule stops holding, a new row for a relapse, noted with a note; safety rows left alone."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from reports.alerts import RULES, SAFETY
from reports.model import Alert as RuleAlert
from storage.blind_index import BlindIndex
from storage.models import Alert, Case, Notice, utcnow
from storage.repo import alerts, cases
from storage.repo.rule_alerts import SPELL_RULES, record_rule_alerts
from storage.repo.users import create_user
from storage.vault import Vault
from tests.storage.helpers import make_case

DAY = timedelta(days=1)
DETAIL = "parent: no reliable improvement by rating 3 (change 0, needs +5)"


def not_on_track(pid: str, at: datetime) -> RuleAlert:
    return RuleAlert("not_on_track", at, DETAIL, "high", pid, "parent", 0.0, 5.0)


def setup(engine: Engine, vault: Vault, index: BlindIndex) -> tuple[str, str]:
    with Session(engine) as session:
        case = make_case(session, vault)
        parent = cases.add_participant(session, vault, index, case=case, role="parent",
                                       channel="webchat")
        session.commit()
        return case.id, parent.id


def record(engine: Engine, vault: Vault, case_id: str, current: list[RuleAlert],
           now: datetime) -> tuple[list[str], list[str]]:
    with Session(engine) as session:
        changes = record_rule_alerts(session, vault, case_id=case_id, current=current, now=now)
        session.commit()
        return changes.raised, changes.cleared


def rows(engine: Engine, case_id: str) -> list[Alert]:
    with Session(engine) as session:
        return list(session.exec(select(Alert).where(Alert.case_id == case_id)
                                 .order_by(Alert.raised_at)).all())


def test_the_spell_rules_are_the_scoring_rules_without_safety() -> None:
    assert set(SPELL_RULES) == set(RULES) - {SAFETY}


def test_a_rule_alert_is_stored_once_sealed_and_recording_it_again_writes_nothing(
    engine: Engine, vault: Vault, index: BlindIndex
) -> None:
    case_id, pid = setup(engine, vault, index)
    at = utcnow() - DAY

    raised, cleared = record(engine, vault, case_id, [not_on_track(pid, at)], at)
    again = record(engine, vault, case_id, [not_on_track(pid, at)], at + DAY)

    assert len(raised) == 1 and cleared == []
    assert again == ([], [])
    (row,) = rows(engine, case_id)
    assert row.detail is not None and DETAIL.encode() not in bytes(row.detail)
    with Session(engine) as session:
        (view,) = alerts.case_alerts(session, vault, case_id)
    assert (view.rule, view.severity, view.participant_id, view.role) == (
        "not_on_track", "high", pid, "parent")
    assert (view.raised_at, view.detail, view.cleared_at, view.category, view.open) == (
        at, DETAIL, None, None, True)


def test_a_spell_that_ends_is_cleared_and_a_relapse_is_a_new_row(
    engine: Engine, vault: Vault, index: BlindIndex
) -> None:
    case_id, pid = setup(engine, vault, index)
    start = utcnow() - 10 * DAY
    (first,), _ = record(engine, vault, case_id, [not_on_track(pid, start)], start)

    _, cleared = record(engine, vault, case_id, [], start + DAY)
    assert record(engine, vault, case_id, [], start + 2 * DAY) == ([], [])
    (relapse,), _ = record(engine, vault, case_id, [not_on_track(pid, start + 3 * DAY)],
                           start + 3 * DAY)

    assert cleared == [first] and relapse != first
    assert [(r.id, r.raised_at, r.cleared_at) for r in rows(engine, case_id)] == [
        (first, start, start + DAY), (relapse, start + 3 * DAY, None)]


def test_safety_alerts_and_other_rules_rows_are_never_cleared(
    engine: Engine, vault: Vault, index: BlindIndex
) -> None:
    case_id, pid = setup(engine, vault, index)
    now = utcnow()
    with Session(engine) as session:
        safety = alerts.raise_safety(session, vault, case_id=case_id, participant_id=pid,
                                     category="violence", free_text_id=None, now=now,
                                     deadline=DAY, escalate_after=DAY)
        session.add(Alert(case_id=case_id, participant_id=pid, rule="own_consent_needed",
                          raised_at=now))
        session.commit()

    # A safety alert in `current` is not stored again either: raise_safety stores those.
    safety_now = RuleAlert(SAFETY, now, "flagged", "urgent", pid)
    assert record(engine, vault, case_id, [safety_now], now + DAY) == ([], [])

    assert [(r.rule, r.cleared_at) for r in rows(engine, case_id)] == [
        ("safety", None), ("own_consent_needed", None)]
    assert rows(engine, case_id)[0].id == safety


def test_two_people_and_two_rules_are_separate_spells(
    engine: Engine, vault: Vault, index: BlindIndex
) -> None:
    case_id, pid = setup(engine, vault, index)
    with Session(engine) as session:
        case = session.get(Case, case_id)
        assert case is not None
        other = cases.add_participant(session, vault, index, case=case, role="teacher",
                                      channel="webchat").id
        session.commit()
    at = utcnow() - DAY
    low = RuleAlert("session_low", at, "parent: session rating 30 below 36", "normal", pid)

    raised, _ = record(engine, vault, case_id,
                       [not_on_track(pid, at), not_on_track(other, at), low], at)
    _, cleared = record(engine, vault, case_id, [not_on_track(other, at), low], at + DAY)

    assert len(raised) == 3
    (gone,) = cleared
    assert {(r.rule, r.participant_id, r.cleared_at is not None) for r in rows(engine, case_id)
            } == {("not_on_track", pid, True), ("not_on_track", other, False),
                  ("session_low", pid, False)}
    assert gone in raised


def test_a_rule_alert_is_noted_with_a_note_and_has_no_notices(
    engine: Engine, vault: Vault, index: BlindIndex
) -> None:
    case_id, pid = setup(engine, vault, index)
    at = utcnow()
    (alert_id,), _ = record(engine, vault, case_id, [not_on_track(pid, at)], at)
    with Session(engine) as session:
        user = create_user(session, email="cw2@example.org", role="caseworker", password=None)
        with pytest.raises(ValueError, match="note"):
            alerts.acknowledge(session, vault, alert_id=alert_id, user_id=user.id, note="  ",
                               now=at)
        noted = alerts.acknowledge(session, vault, alert_id=alert_id, user_id=user.id,
                                   note="Talked with the parent", now=at + DAY)
        session.commit()
        assert noted.acknowledged_at == at + DAY
        assert session.exec(select(Notice).where(Notice.alert_id == alert_id)).all() == []
        (view,) = alerts.list_alerts(session, vault, case_ids=[case_id])
        assert (view.note, view.acknowledged_by, view.open) == (
            "Talked with the parent", "cw2@example.org", False)
        assert alerts.list_alerts(session, vault, case_ids=[case_id], open_only=True) == []
    # Noted is not ended: the spell is still open, so the rule raises no second row.
    assert record(engine, vault, case_id, [not_on_track(pid, at)], at + 2 * DAY) == ([], [])
