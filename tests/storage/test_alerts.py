"""Alerts as rows: raised with two notices, acknowledged once with a note, listed with words;
notices claimed by one sender at a time, retried, and taken back from a sender that died."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from storage.blind_index import BlindIndex
from storage.models import Alert, AuditEntry, Notice, User, utcnow
from storage.repo import alerts, cases, notices
from storage.repo.answers import record_free_text
from storage.repo.errors import Conflict
from storage.repo.users import create_user
from storage.vault import Vault
from tests.storage.helpers import make_case

HOUR = timedelta(hours=1)
WORDS = "jeg tager pillerne i aften"


@dataclass
class Raised:
    """A case with a child who wrote something that raised a safety alert."""

    case_id: str
    child_id: str
    alert_id: str
    caseworker_id: str


def raise_one(engine: Engine, vault: Vault, index: BlindIndex, *, at: object = None,
              category: str = "suicide", email: str = "cw@example.org") -> Raised:
    now = utcnow() if at is None else at
    with Session(engine, expire_on_commit=False) as session:
        case = make_case(session, vault, email=email)
        child = cases.add_participant(session, vault, index, case=case, role="child",
                                      channel="webchat")
        # Not flushed: the host stores the words and raises the alert in one step.
        text = record_free_text(session, vault, child, WORDS, at=now, kind="message")
        alert_id = alerts.raise_safety(session, vault, case_id=case.id,
                                       participant_id=child.id, category=category,
                                       free_text_id=text.id, now=now, deadline=24 * HOUR,
                                       escalate_after=4 * HOUR)
        session.commit()
        return Raised(case.id, child.id, alert_id, case.caseworker_id)


def notice_rows(engine: Engine, alert_id: str) -> dict[str, Notice]:
    with Session(engine, expire_on_commit=False) as session:
        return {n.kind: n for n in notices.notices_of(session, alert_id)}


def test_a_safety_alert_is_stored_sealed_with_an_urgent_notice_now_and_an_escalation_later(
    engine: Engine, vault: Vault, index: BlindIndex
) -> None:
    now = utcnow()

    raised = raise_one(engine, vault, index, at=now)

    with Session(engine) as session:
        row = session.get(Alert, raised.alert_id)
        assert row is not None and row.category is not None
        assert b"suicide" not in bytes(row.category)  # sealed, not plain
        (view,) = alerts.case_alerts(session, vault, raised.case_id, words=True)
    assert (view.rule, view.severity, view.category, view.role) == (
        "safety", "urgent", "suicide", "child")
    assert (view.deadline_at, view.words, view.open) == (now + 24 * HOUR, WORDS, True)
    sent = notice_rows(engine, raised.alert_id)
    assert {k: (n.status, n.due_at) for k, n in sent.items()} == {
        "urgent": ("pending", now), "escalation": ("pending", now + 4 * HOUR)}


def test_acknowledging_records_who_and_the_note_cancels_the_notices_and_is_audited(
    engine: Engine, vault: Vault, index: BlindIndex
) -> None:
    raised = raise_one(engine, vault, index)
    later = utcnow() + HOUR

    with Session(engine) as session:
        alerts.acknowledge(session, vault, alert_id=raised.alert_id,
                           user_id=raised.caseworker_id, note="Talt med barnet i dag",
                           now=later)
        session.commit()

    with Session(engine) as session:
        (view,) = alerts.list_alerts(session, vault, case_ids=[raised.case_id])
        entry = session.exec(select(AuditEntry).where(AuditEntry.action == "alert.ack")).one()
    assert (view.acknowledged_at, view.acknowledged_by, view.note) == (
        later, "cw@example.org", "Talt med barnet i dag")
    assert view.words is None  # not asked for
    assert {n.status for n in notice_rows(engine, raised.alert_id).values()} == {"cancelled"}
    assert (entry.actor, entry.target) == ("cw@example.org", f"alert:{raised.alert_id}")
    assert "Talt" not in entry.detail


def test_an_alert_is_acknowledged_once_and_only_with_a_note(
    engine: Engine, vault: Vault, index: BlindIndex
) -> None:
    raised = raise_one(engine, vault, index)
    with Session(engine) as session:
        with pytest.raises(ValueError, match="note"):
            alerts.acknowledge(session, vault, alert_id=raised.alert_id,
                               user_id=raised.caseworker_id, note="  ", now=utcnow())
        alerts.acknowledge(session, vault, alert_id=raised.alert_id,
                           user_id=raised.caseworker_id, note="Vurderet", now=utcnow())
        session.commit()

    with Session(engine) as session, pytest.raises(Conflict, match="already"):
        alerts.acknowledge(session, vault, alert_id=raised.alert_id,
                           user_id=raised.caseworker_id, note="igen", now=utcnow())


def test_open_only_leaves_out_what_was_assessed(
    engine: Engine, vault: Vault, index: BlindIndex
) -> None:
    first = raise_one(engine, vault, index)
    second = raise_one(engine, vault, index, category="neglect", email="other@example.org")
    with Session(engine) as session:
        alerts.acknowledge(session, vault, alert_id=first.alert_id,
                           user_id=first.caseworker_id, note="ok", now=utcnow())
        session.commit()

    with Session(engine) as session:
        everything = alerts.list_alerts(session, vault)
        still_open = alerts.list_alerts(session, vault, open_only=True)

    assert [a.id for a in everything] == [first.alert_id, second.alert_id]
    assert [(a.id, a.category) for a in still_open] == [(second.alert_id, "neglect")]


def test_an_unknown_category_is_kept_rather_than_losing_the_alert(
    engine: Engine, vault: Vault, index: BlindIndex
) -> None:
    raised = raise_one(engine, vault, index, category="abuse")

    with Session(engine) as session:
        (view,) = alerts.case_alerts(session, vault, raised.case_id)

    assert view.category == "abuse"


# -- notices: claimed once, finished by their holder --------------------------------------

def test_a_due_notice_is_claimed_by_one_sender_and_the_escalation_waits(
    engine: Engine, vault: Vault, index: BlindIndex
) -> None:
    now = utcnow()
    raised = raise_one(engine, vault, index, at=now)

    first = notices.claim_next(engine, now=now)
    second = notices.claim_next(engine, now=now)

    assert first is not None and (first.kind, first.alert_id) == ("urgent", raised.alert_id)
    assert (first.caseworker_email, first.open_alerts, first.deadline_hours) == (
        "cw@example.org", 1, 24)
    assert second is None  # the escalation is not due, the urgent one is taken
    notices.mark_sent(engine, first, now=now)
    later = notices.claim_next(engine, now=now + 4 * HOUR)
    assert later is not None and later.kind == "escalation"


def test_a_failed_attempt_waits_longer_each_time_and_is_never_recorded_sent(
    engine: Engine, vault: Vault, index: BlindIndex
) -> None:
    now = utcnow()
    raised = raise_one(engine, vault, index, at=now)
    claimed = notices.claim_next(engine, now=now)
    assert claimed is not None

    assert notices.mark_retry(engine, claimed, now=now, error="451 busy") == "pending"

    urgent = notice_rows(engine, raised.alert_id)["urgent"]
    assert (urgent.status, urgent.attempts, urgent.due_at) == ("pending", 1, now + notices.BACKOFF)
    assert notices.claim_next(engine, now=now + timedelta(seconds=30)) is None
    with Session(engine) as session:
        alert = session.get(Alert, raised.alert_id)
        assert alert is not None and alert.notified_at is None
    assert notices.backoff(3) == 4 * notices.BACKOFF
    assert notices.backoff(20) == notices.BACKOFF_MAX


def test_an_urgent_notice_is_never_given_up_while_its_alert_is_open(
    engine: Engine, vault: Vault, index: BlindIndex
) -> None:
    now = utcnow()
    raised = raise_one(engine, vault, index, at=now)
    statuses = []
    for _ in range(2 * notices.STILL_FAILING + 4):  # the urgent notice and the escalation
        now = min(n.due_at for n in notice_rows(engine, raised.alert_id).values())
        claimed = notices.claim_next(engine, now=now)
        assert claimed is not None
        statuses.append(notices.mark_retry(engine, claimed, now=now, error="down"))

    rows = notice_rows(engine, raised.alert_id)
    assert set(statuses) == {"pending"}
    assert {row.status for row in rows.values()} == {"pending"}
    assert rows["urgent"].attempts > notices.STILL_FAILING
    assert notices.backoff(rows["urgent"].attempts) == notices.BACKOFF_MAX


def test_an_attempt_with_nobody_to_send_to_does_not_use_up_the_quick_retries(
    engine: Engine, vault: Vault, index: BlindIndex
) -> None:
    now = utcnow()
    raised = raise_one(engine, vault, index, at=now)
    claimed = notices.claim_next(engine, now=now)
    assert claimed is not None

    notices.mark_retry(engine, claimed, now=now, error="no recipient", counted=False)

    row = notice_rows(engine, raised.alert_id)["urgent"]
    assert row.attempts == 0 and row.due_at - now == notices.BACKOFF_MAX


def test_sent_is_recorded_on_the_alert_too(
    engine: Engine, vault: Vault, index: BlindIndex
) -> None:
    now = utcnow()
    raised = raise_one(engine, vault, index, at=now)
    claimed = notices.claim_next(engine, now=now)
    assert claimed is not None

    assert notices.mark_sent(engine, claimed, now=now)

    with Session(engine) as session:
        alert = session.get(Alert, raised.alert_id)
        assert alert is not None and (alert.notified_at, alert.escalated_at) == (now, None)
    assert notice_rows(engine, raised.alert_id)["urgent"].status == "sent"


def test_a_notice_left_sending_by_a_dead_process_is_claimed_again_after_the_lease(
    engine: Engine, vault: Vault, index: BlindIndex
) -> None:
    now = utcnow()
    raise_one(engine, vault, index, at=now)
    dead = notices.claim_next(engine, now=now)
    assert dead is not None

    too_soon = notices.claim_next(engine, now=now + notices.SEND_LEASE - timedelta(seconds=1))
    taken = notices.claim_next(engine, now=now + notices.SEND_LEASE + timedelta(seconds=1))

    assert too_soon is None
    assert taken is not None and taken.id == dead.id
    # The dead holder can no longer finish what is now someone else's claim.
    assert notices.mark_retry(engine, dead, now=now, error="late") == ""
    assert notices.mark_cancelled(engine, dead, reason="late") is False


def test_a_deactivated_caseworker_has_no_address_for_the_urgent_notice(
    engine: Engine, vault: Vault, index: BlindIndex
) -> None:
    now = utcnow()
    raised = raise_one(engine, vault, index, at=now)
    with Session(engine) as session:
        worker = session.get(User, raised.caseworker_id)
        assert worker is not None
        worker.active = False
        session.add(worker)
        create_user(session, email="team-lead@example.org", role="admin", password=None)
        session.commit()

    claimed = notices.claim_next(engine, now=now)

    assert claimed is not None and claimed.caseworker_email is None


def test_two_senders_claiming_at_once_never_get_the_same_notice(
    engine: Engine, vault: Vault, index: BlindIndex
) -> None:
    now = utcnow()
    for n in range(6):
        raise_one(engine, vault, index, at=now, email=f"cw{n}@example.org")
    claimed: list[list[str]] = [[], []]

    def sender(mine: list[str]) -> None:
        while (notice := notices.claim_next(engine, now=now)) is not None:
            mine.append(notice.id)

    threads = [threading.Thread(target=sender, args=(ids,)) for ids in claimed]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    every = claimed[0] + claimed[1]
    assert len(every) == len(set(every)) == 6  # each urgent notice once; escalations wait
