"""Mail that leaves on its own: urgent safety notices and the weekly digest.

Both are safe with several processes on one database: an urgent notice is a row of its own,
claimed before it is sent and recorded sent only once the mail server took it (retried later
if not; reports/notices.py), and a digest is claimed per caseworker and ISO week in the
throttle table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from reports.casefile import load_case_data
from reports.digest import Caseworker, build_digest
from reports.mailer import Mailer, MailSendError
from reports.notices import SEND_TIMEOUT, NoticeConfig, send_notices
from reports.rules import DEFAULT_RULES, ScoringRules
from storage.models import Case, User
from storage.repo.throttle import count, forget, hit
from storage.vault import Vault

log = structlog.get_logger("stemme.mail")
FAILED = "digest-failed"  # throttle key prefix: this week's digest to this caseworker did not go


@dataclass(frozen=True)
class MailConfig:
    """Who mail comes from and where urgent notices escalate to."""

    sender: str
    public_url: str
    team_address: str | None = None
    language: str = "da"
    notice_timeout: float = SEND_TIMEOUT  # seconds one attempt at an urgent notice may take
    rules: ScoringRules = DEFAULT_RULES  # the alert rules in force, for the digest's urgency


async def send_urgent(engine: Engine, mailer: Mailer, cfg: MailConfig, now: datetime) -> int:
    """Send the due notices of urgent alerts (reports.notices); returns how many were sent."""
    run = await send_notices(engine, mailer, NoticeConfig(
        sender=cfg.sender, public_url=cfg.public_url, team_address=cfg.team_address,
        language=cfg.language, timeout=cfg.notice_timeout), now)
    return run.sent


def week_of(now: datetime) -> str:
    """The ISO week, e.g. 2026-W48: one digest per caseworker per week."""
    year, week, _ = now.isocalendar()
    return f"{year}-W{week:02d}"


async def send_digests(engine: Engine, vault: Vault, mailer: Mailer, cfg: MailConfig,
                       now: datetime, *, only: str | None = None, force: bool = False,
                       retry: bool = False) -> int:
    """One digest per active caseworker with open cases; returns how many were sent.

    A digest the mail server did not take gives up its claim on the week and is marked
    failed: `retry` sends only those (the service tries every hour), each once more.
    """
    week = week_of(now)
    with Session(engine) as session:
        users = session.exec(select(User).where(col(User.active),
                                                User.role == "caseworker")).all()
        targets = [u for u in users if only is None or u.email == only.strip().lower()]
        if retry:
            targets = [u for u in targets if count(session, f"{FAILED}:{u.id}", week)]
    sent = 0
    for user in targets:
        with Session(engine) as session:
            if not force and hit(session, f"digest:{user.id}", week) > 1:
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
                               public_url=cfg.public_url, sender=cfg.sender, rules=cfg.rules)
        try:
            await mailer.send(message)
            sent += 1
        except MailSendError as exc:  # kept as a file under failed/ for the operator
            log.error("digest not sent; retried within the hour", caseworker=user.id,
                      eml=str(exc.eml_path))
            with Session(engine) as session:
                forget(session, f"digest:{user.id}", week)  # a retry may claim the week again
                hit(session, f"{FAILED}:{user.id}", week)
                session.commit()
            continue
        if retry:
            with Session(engine) as session:
                forget(session, f"{FAILED}:{user.id}", week)
                session.commit()
    return sent
