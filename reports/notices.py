"""Sending the notices of urgent alerts: claim one, build its mail, send, record the answer.

Each notice is claimed right before its attempt and marked sent only once the mail server
took it (storage/repo/notices.py has the states). Every attempt is bounded (`timeout`), and
the first failure ends the run: a mail server that is down or hangs costs one attempt per
sweep, and the rest wait, unattempted, for the next one.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import Engine

from reports.mailer import Mailer, MailError
from reports.urgent import NoticeKind, build_notice
from storage.repo import notices
from storage.repo.notices import ClaimedNotice

log = structlog.get_logger("stemme.notices")
SEND_TIMEOUT = 15.0  # seconds per attempt, far below notices.SEND_LEASE


@dataclass(frozen=True)
class NoticeConfig:
    """Who notices come from, where the team is, and how long one attempt may take."""

    sender: str
    public_url: str
    team_address: str | None = None
    language: str = "da"
    timeout: float = SEND_TIMEOUT


@dataclass
class NoticeRun:
    """What one run did."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    cancelled: int = 0


def _route(notice: ClaimedNotice, cfg: NoticeConfig) -> tuple[NoticeKind, str] | str:
    """(mail kind, recipient), or why the notice is not to be sent (starting "cancel:")."""
    if notice.acknowledged:
        return "cancel: acknowledged"
    if notice.case_status == "erased":
        return "cancel: case erased"
    if notice.kind == "escalation":
        return ("escalation", cfg.team_address) if cfg.team_address \
            else "cancel: no STEMME_TEAM_EMAIL to escalate to"
    if notice.caseworker_email:
        # A deputy standing in for the caseworker is told as well, in the same mail.
        return "urgent", ", ".join(dict.fromkeys((notice.caseworker_email,
                                                   *notice.deputy_emails)))
    if cfg.team_address:
        return "unassigned", cfg.team_address
    # Kept and retried: a hand-over or the team address may give it someone to go to.
    return "no recipient: the caseworker is deactivated and STEMME_TEAM_EMAIL is unset"


async def _attempt(engine: Engine, mailer: Mailer, cfg: NoticeConfig, notice: ClaimedNotice,
                   now: datetime, run: NoticeRun) -> bool:
    """One notice; False when the mail server failed it (the run then stops)."""
    route = _route(notice, cfg)
    if isinstance(route, str) and route.startswith("cancel: "):
        await asyncio.to_thread(notices.mark_cancelled, engine, notice,
                                reason=route.removeprefix("cancel: "))
        run.cancelled += 1
        return True
    mail_failed = False
    if isinstance(route, str):
        error = route
    else:
        kind, recipient = route
        message = build_notice(notice.case_id, kind=kind, recipient=recipient,
                               sender=cfg.sender, public_url=cfg.public_url, now=now,
                               lang=cfg.language, hours=notice.deadline_hours,
                               waiting=notice.open_alerts)
        try:
            await mailer.send_once(message, timeout=cfg.timeout)
        except MailError as exc:
            error, mail_failed = str(exc), True
        else:
            await asyncio.to_thread(notices.mark_sent, engine, notice, now=now)
            run.sent += 1
            return True
    status = await asyncio.to_thread(notices.mark_retry, engine, notice, now=now, error=error,
                                     counted=mail_failed)
    if mail_failed and notice.attempts + 1 >= notices.STILL_FAILING:
        run.failed += 1
        log.error("urgent notice still not sent; retried every 30 minutes until it is",
                  notice_id=notice.id, alert_id=notice.alert_id, kind=notice.kind,
                  attempts=notice.attempts + 1)
    elif status:
        run.retried += 1
        log.warning("notice not sent; retried later", notice_id=notice.id,
                    alert_id=notice.alert_id, kind=notice.kind, attempts=notice.attempts + 1)
    return not mail_failed


async def send_notices(engine: Engine, mailer: Mailer, cfg: NoticeConfig, now: datetime, *,
                       limit: int = 50) -> NoticeRun:
    """Send the notices due at `now` (at most `limit`), one claimed attempt at a time.

    The clock moves on from `now` as the run takes time, so a claim made late in a long run
    is not mistaken for an old one (a dead process's) by another sender.
    """
    run = NoticeRun()
    started = time.monotonic()
    for _ in range(limit):
        at = now + timedelta(seconds=int(time.monotonic() - started))  # whole seconds do
        notice = await asyncio.to_thread(notices.claim_next, engine, now=at)
        if notice is None:
            break
        if not await _attempt(engine, mailer, cfg, notice, at, run):
            break
    return run
