"""Notices owed to staff about an alert, claimed and sent like the outbox, recorded once sent.

A notice's `status`::

    pending    due at `due_at` (a retry waits there too)
    sending    claimed at `claimed_at` for one attempt; the mail server has not said yes yet
    sent       the mail server accepted it (`sent_at`; the alert's notified_at/escalated_at)
    cancelled  not needed any more: the alert was acknowledged, or nobody to escalate to
    failed     not used for new attempts: an urgent notice is retried until the alert is
               acknowledged (every BACKOFF_MAX once past STILL_FAILING attempts)

    pending --claim--> sending --> sent | pending (attempts + 1, later) | cancelled
    sending (claimed longer than SEND_LEASE ago: its process died) --claim--> sending

A claim is one conditional UPDATE (on PostgreSQL over rows picked FOR UPDATE SKIP LOCKED), so
each due notice goes to one sender. Every attempt is bounded far below SEND_LEASE, so a row
still "sending" after it belongs to a process that is gone; sending it again is at least once,
never lost. A sender finishes only the claim it holds (its `claimed_at`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Engine, func, or_, update
from sqlmodel import Session, col, select

from storage.models import Alert, Case, Notice, User
from storage.repo.organisation import deputy_emails

SEND_LEASE = timedelta(minutes=3)
# After this many failed attempts (about 3.5 hours of retries with BACKOFF doubling up to
# BACKOFF_MAX) the operator is told at every further attempt; the notice is never given up:
# a mail server down for a weekend must not lose a child's urgent alert.
STILL_FAILING = 12
BACKOFF = timedelta(minutes=1)
BACKOFF_MAX = timedelta(minutes=30)
KINDS = ("urgent", "escalation")


@dataclass(frozen=True, slots=True)
class ClaimedNotice:
    """A notice claimed for one attempt, with what its mail needs (no sealed data)."""

    id: str
    kind: str
    alert_id: str
    case_id: str
    claimed_at: datetime  # the claim: only its holder finishes it
    attempts: int  # failed attempts so far
    acknowledged: bool
    case_status: str
    caseworker_email: str | None  # None: the case's caseworker is deactivated
    open_alerts: int  # the case's unacknowledged urgent alerts, this one included
    deadline_hours: int  # how long the alert gives to assess it
    # Who stands in for the caseworker at the claim (they get the urgent mail too).
    deputy_emails: tuple[str, ...] = ()


def backoff(attempts: int) -> timedelta:
    """How long to wait after failed attempt number `attempts` (1, 2, 4 ... 30 minutes)."""
    return min(BACKOFF_MAX, BACKOFF * int(2 ** max(0, attempts - 1)))


def _claimable(now: datetime) -> ColumnElement[bool]:
    status = col(Notice.status)
    return or_((status == "pending") & (col(Notice.due_at) <= now),
               (status == "sending") & (col(Notice.claimed_at) < now - SEND_LEASE))


def claim_next(engine: Engine, *, now: datetime) -> ClaimedNotice | None:
    """Claim the most overdue notice for one attempt, or None when nothing is due."""
    claimable = _claimable(now)
    with Session(engine) as session:
        due = (select(Notice.id).where(claimable)
               .order_by(col(Notice.due_at), col(Notice.id)).limit(1))
        if engine.dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        # `= (SELECT ... LIMIT 1)`, not `IN (...)`: PostgreSQL may run an IN subquery with
        # SKIP LOCKED once per row it visits, each time finding another row, and claim many.
        taken = session.execute(
            update(Notice).where(col(Notice.id) == due.scalar_subquery(), claimable)
            .values(status="sending", claimed_at=now)
            .returning(col(Notice.id))).first()
        if taken is None:
            session.commit()
            return None
        notice = session.get(Notice, taken[0])
        alert = session.get(Alert, notice.alert_id) if notice else None
        case = session.get(Case, alert.case_id) if alert else None
        assert notice is not None and alert is not None and case is not None
        worker = session.get(User, case.caseworker_id)
        open_count = session.exec(select(func.count()).select_from(Alert).where(
            Alert.case_id == case.id, Alert.severity == "urgent",
            col(Alert.acknowledged_at).is_(None))).one()
        claimed = ClaimedNotice(
            id=notice.id, kind=notice.kind, alert_id=alert.id, case_id=case.id,
            claimed_at=now, attempts=notice.attempts,
            acknowledged=alert.acknowledged_at is not None, case_status=case.status,
            caseworker_email=worker.email if worker is not None and worker.active else None,
            open_alerts=max(1, int(open_count)),
            deadline_hours=round((alert.deadline_at - alert.raised_at).total_seconds() / 3600)
            if alert.deadline_at else 24,
            deputy_emails=tuple(deputy_emails(session, worker.id, now=now))
            if worker is not None and worker.active and notice.kind == "urgent" else ())
        session.commit()
        return claimed


def _held(notice: ClaimedNotice) -> ColumnElement[bool]:
    return ((col(Notice.id) == notice.id) & (col(Notice.status) == "sending")
            & (col(Notice.claimed_at) == notice.claimed_at))


def mark_sent(engine: Engine, notice: ClaimedNotice, *, now: datetime) -> bool:
    """The mail server accepted the notice: record it, and on the alert when it was told.

    Recorded even when the claim was taken over meanwhile (a late yes still prevents a
    resend); False when the notice was already finished.
    """
    column = "notified_at" if notice.kind == "urgent" else "escalated_at"
    with Session(engine) as session:
        done = session.execute(update(Notice).where(
            col(Notice.id) == notice.id, col(Notice.status).in_(("sending", "pending")))
            .values(status="sent", sent_at=now, last_error=None))
        if done.rowcount:  # type: ignore[attr-defined]
            session.execute(update(Alert).where(col(Alert.id) == notice.alert_id,
                                                col(getattr(Alert, column)).is_(None))
                            .values({column: now}))
        session.commit()
        return bool(done.rowcount)  # type: ignore[attr-defined]


def mark_retry(engine: Engine, notice: ClaimedNotice, *, now: datetime, error: str,
               counted: bool = True) -> str:
    """An attempt failed: pending again after a backoff (never given up). `counted=False`
    for an attempt that never reached a mail server (nobody to send to yet): it waits the
    longest backoff without using up the quick retries.

    Returns "pending", or "" when the claim was no longer held.
    """
    attempts = notice.attempts + 1 if counted else notice.attempts
    wait = backoff(attempts) if counted else BACKOFF_MAX
    values: dict[str, object] = {"attempts": attempts, "last_error": error[:200],
                                 "claimed_at": None, "status": "pending",
                                 "due_at": now + wait}
    with Session(engine) as session:
        done = session.execute(update(Notice).where(_held(notice)).values(values))
        session.commit()
    return str(values["status"]) if done.rowcount else ""  # type: ignore[attr-defined]


def mark_cancelled(engine: Engine, notice: ClaimedNotice, *, reason: str) -> bool:
    """Not sent on purpose (the alert was acknowledged, nobody to escalate to)."""
    with Session(engine) as session:
        done = session.execute(update(Notice).where(_held(notice))
                               .values(status="cancelled", last_error=reason[:200]))
        session.commit()
        return bool(done.rowcount)  # type: ignore[attr-defined]


def notices_of(session: Session, alert_id: str) -> list[Notice]:
    """An alert's notices (urgent first)."""
    return sorted(session.exec(select(Notice).where(Notice.alert_id == alert_id)).all(),
                  key=lambda n: KINDS.index(n.kind) if n.kind in KINDS else len(KINDS))


def hasten_for_caseworker(session: Session, user_id: str, *, now: datetime) -> int:
    """The caseworker is gone (deactivated): their open urgent alerts' pending notices are
    due now, so the team hears at once instead of after the usual wait. How many."""
    open_urgent = (select(Alert.id).join(Case, col(Case.id) == Alert.case_id)
                   .where(Case.caseworker_id == user_id, Alert.severity == "urgent",
                          col(Alert.acknowledged_at).is_(None)))
    done = session.execute(update(Notice).where(
        col(Notice.alert_id).in_(open_urgent.scalar_subquery()),
        col(Notice.status) == "pending", col(Notice.due_at) > now).values(due_at=now))
    return int(done.rowcount)  # type: ignore[attr-defined]


def readdress_case(session: Session, case_id: str, *, now: datetime) -> int:
    """The case has a new caseworker (a hand-over): the urgent notice of each of its open
    urgent alerts is due now again, sent before or not, so that the new owner hears of it
    (the recipient is read when a notice is claimed). Escalations keep their time. How many."""
    open_urgent = select(Alert.id).where(Alert.case_id == case_id, Alert.severity == "urgent",
                                         col(Alert.acknowledged_at).is_(None))
    done = session.execute(update(Notice).where(
        col(Notice.alert_id).in_(open_urgent.scalar_subquery()), col(Notice.kind) == "urgent",
        col(Notice.status).in_(("pending", "sent", "failed")))
        .values(status="pending", due_at=now, attempts=0, claimed_at=None, last_error=None))
    return int(done.rowcount)  # type: ignore[attr-defined]
