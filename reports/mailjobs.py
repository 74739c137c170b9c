"""Mail that leaves on its own: urgent safety notices and the weekly digest.

Both are safe with several processes on one database: an urgent notice is claimed by a
conditional UPDATE before it is sent (and released again if sending fails, so the next sweep
retries it), and a digest is claimed per caseworker and ISO week in the throttle table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from reports.casefile import load_case_data
from reports.digest import Caseworker, build_digest
from reports.mailer import Mailer, MailSendError
from reports.urgent import build_urgent_alert
from storage.models import Alert, Case, User
from storage.repo.throttle import hit
from storage.vault import Vault

log = structlog.get_logger("stemme.mail")
ESCALATE_AFTER = timedelta(hours=4)


@dataclass(frozen=True)
class MailConfig:
    """Who mail comes from and where urgent notices escalate to."""

    sender: str
    public_url: str
    team_address: str | None = None
    language: str = "da"


def _claim(engine: Engine, alert_id: str, column: str, now: datetime) -> bool:
    with Session(engine) as session:
        field = getattr(Alert, column)
        taken = session.execute(update(Alert).where(col(Alert.id) == alert_id,
                                                    col(field).is_(None))
                                .values({column: now}))
        session.commit()
        return bool(taken.rowcount == 1)  # type: ignore[attr-defined]


def _release(engine: Engine, alert_id: str, column: str) -> None:
    with Session(engine) as session:
        session.execute(update(Alert).where(col(Alert.id) == alert_id).values({column: None}))
        session.commit()


async def send_urgent(engine: Engine, mailer: Mailer, cfg: MailConfig, now: datetime) -> int:
    """Tell caseworkers of new safety alerts; escalate unacknowledged ones after 4 hours."""
    with Session(engine) as session:
        fresh = session.exec(select(Alert, Case, User)
                             .join(Case, col(Case.id) == Alert.case_id)
                             .join(User, col(User.id) == Case.caseworker_id)
                             .where(Alert.severity == "urgent",
                                    col(Alert.notified_at).is_(None))).all()
        stale = session.exec(select(Alert).where(
            Alert.severity == "urgent", col(Alert.acknowledged_at).is_(None),
            col(Alert.escalated_at).is_(None),
            col(Alert.notified_at) <= now - ESCALATE_AFTER)).all() if cfg.team_address else []
    sent = 0
    jobs = [(a.id, a.case_id, u.email, "notified_at") for a, _, u in fresh]
    jobs += [(a.id, a.case_id, cfg.team_address or "", "escalated_at") for a in stale]
    for alert_id, case_id, recipient, column in jobs:
        if not _claim(engine, alert_id, column, now):
            continue  # another process took it
        message = build_urgent_alert(case_id, recipient=recipient, sender=cfg.sender,
                                     public_url=cfg.public_url, now=now, lang=cfg.language)
        try:
            await mailer.send(message)
            sent += 1
        except MailSendError:
            log.warning("urgent notice not sent; retried next sweep", alert_id=alert_id)
            _release(engine, alert_id, column)
    return sent


def week_of(now: datetime) -> str:
    """The ISO week, e.g. 2026-W48: one digest per caseworker per week."""
    year, week, _ = now.isocalendar()
    return f"{year}-W{week:02d}"


async def send_digests(engine: Engine, vault: Vault, mailer: Mailer, cfg: MailConfig,
                       now: datetime, *, only: str | None = None, force: bool = False) -> int:
    """One digest per active caseworker with open cases; returns how many were sent."""
    with Session(engine) as session:
        users = session.exec(select(User).where(col(User.active),
                                                User.role == "caseworker")).all()
        targets = [u for u in users if only is None or u.email == only.strip().lower()]
    sent = 0
    for user in targets:
        with Session(engine) as session:
            if not force and hit(session, f"digest:{user.id}", week_of(now)) > 1:
                continue  # this week's digest already went (from this or another process)
            session.commit()
            # Status is checked here, not in SQL: given both, SQLite picks the status index
            # and reads every open case of every caseworker to find this one's.
            case_ids = [case_id for case_id, status in session.exec(
                select(Case.id, Case.status).where(Case.caseworker_id == user.id))
                if status == "open"]
            if not case_ids:
                continue
            cases = [load_case_data(session, vault, cid, now=now, comments=False)
                     for cid in case_ids]
        message = build_digest(Caseworker(user.email, cfg.language), cases, now=now,
                               public_url=cfg.public_url, sender=cfg.sender)
        try:
            await mailer.send(message)
            sent += 1
        except MailSendError as exc:  # kept as a file under failed/ for the operator
            log.error("digest not sent", caseworker=user.id, eml=str(exc.eml_path))
    return sent
