"""One process's pipeline: channels, inbound router, surveys, dispatcher and the sweep jobs."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlmodel import Session

from bot.channels.base import Handler, Inbound
from bot.channels.sms.channel import TwilioSmsChannel
from bot.channels.telegram.channel import TelegramChannel
from bot.channels.webchat.channel import WebChatChannel
from bot.conversation.alert_spells import record_missed
from bot.conversation.host import Surveys
from bot.inbound.intake import Intake
from bot.inbound.pipeline import StoreThenProcess
from bot.inbound.router import Effects
from bot.outbound.config import DispatchConfig
from bot.outbound.dispatcher import Dispatcher
from bot.outbound.status import apply_status
from bot.runtime.metrics import Metrics
from bot.runtime.parts import Runtime
from bot.runtime.writer import InboxWriter, ProcessWriter, ThreadWriter, build_router
from casework.asking import Starter
from consent import audit
from consent.audit_anchors import write_anchor
from consent.coming_of_age import flag_new_fifteens
from consent.retention import DEFAULT_MONTHS, closed_for_review
from reports.mailer import Mailer, outbox_dir
from reports.mailjobs import MailConfig, send_digests, send_urgent
from scheduler.planner import PlanConfig, plan_followups, plan_sessions
from scheduler.sweep import SweepConfig, sweep_conversations, sweep_due
from scheduler.windows import parse_quiet_hours
from storage.group_commit import Coalescer
from storage.models import Conversation, utcnow
from storage.repo.invites import resolve_webchat

log = structlog.get_logger("stemme.services")


def build_channels(rt: Runtime) -> dict[str, Handler]:
    """The channels the settings switch on; web chat is always there."""
    s = rt.settings

    async def resolve(token: str) -> str | None:
        def lookup() -> str | None:
            with Session(rt.engine) as session:
                person = resolve_webchat(session, token, now=utcnow())
                return person.id if person else None
        return await asyncio.to_thread(lookup)

    channels: dict[str, Handler] = {"webchat": WebChatChannel(resolve_token=resolve)}
    if s.telegram_token and s.telegram_webhook_secret:
        channels["telegram"] = TelegramChannel(token=s.telegram_token,
                                               webhook_secret=s.telegram_webhook_secret,
                                               api_url=s.telegram_api_url)
    if s.twilio_account_sid and s.twilio_auth_token and s.twilio_from:
        channels["sms"] = TwilioSmsChannel(account_sid=s.twilio_account_sid,
                                           auth_token=s.twilio_auth_token,
                                           from_number=s.twilio_from, public_url=s.public_url,
                                           api_url=s.twilio_api_url)
    return channels


def survey_starter(rt: Runtime, surveys: Surveys | None = None) -> Starter:
    """How "ask now" starts a survey at once in this process, in the asking transaction (the
    dashboard, the API, `stemme survey send`), as the sweep would: the same survey start and
    quiet hours. The dispatcher of whichever process serves sends what it wrote."""
    s = rt.settings
    return Starter(start=(surveys or build_router(rt).surveys).start_due, zone=s.zone,
                   quiet=parse_quiet_hours(s.quiet_hours))


class Services:
    """Everything that moves messages in one process; several processes may share a database."""

    def __init__(self, rt: Runtime, channels: Mapping[str, Handler] | None = None) -> None:
        self.rt = rt
        self.worker = f"{socket.gethostname()}:{os.getpid()}"
        self.channels = dict(channels) if channels is not None else build_channels(rt)
        s = rt.settings
        self.router = build_router(rt)
        self.surveys = self.router.surveys
        self.starter = survey_starter(rt, self.surveys)
        self.metrics = Metrics(rt.engine, s.resolved_audit_anchor_file)
        self.dispatcher = Dispatcher(
            engine=rt.engine, vault=rt.vault, channels=self.channels, worker=self.worker,
            rates={"sms": s.sms_segments_per_second,
                   "telegram": s.telegram_messages_per_second},
            config=DispatchConfig(max_attempts=s.send_max_attempts),
            on_outcome=self.metrics.send_outcome)
        self.sweep_config = SweepConfig(zone=s.zone, quiet=parse_quiet_hours(s.quiet_hours))
        self.plan_config = PlanConfig(zone=s.zone)
        self.mailer = Mailer(s.smtp_url, outbox_dir(s.data_dir))
        self.mail = MailConfig(sender=s.mail_sender, public_url=s.public_url,
                               team_address=s.team_email or None, rules=s.rules.rules)
        self.scheduler: AsyncIOScheduler | None = None
        self._stop = asyncio.Event()
        self.notices_wake = asyncio.Event()  # set when a safety alert was just raised
        self._tasks: set[asyncio.Task[None]] = set()
        self._sweeping = asyncio.Lock()
        # Inbound writes take turns on one writer: SQLite has one writer anyway, and a second
        # thread would spend its turn in SQLite's busy wait. Messages stored together are
        # processed together, in one transaction.
        self.writer: InboxWriter = (ProcessWriter(s) if s.writer_process
                                    else ThreadWriter(rt, self.router))
        # Stored, then processed, in one trip to the writer (two with a writer process).
        self.inbox: StoreThenProcess[Effects | None] = StoreThenProcess(
            self.writer.store, self.writer.process, executor=self.writer.executor,
            one_trip=not isinstance(self.writer, ProcessWriter))
        self.intake: Intake[Effects] = Intake(pipeline=self.inbox, after=self._after_all,
                                              send_now=self.dispatcher.run_channel,
                                              status=self._status)
        # Recovery processes what was stored and left (a crash between the two).
        self._processing: Coalescer[str, Effects | None] = Coalescer(
            self.writer.process, executor=self.writer.executor)

    # -- inbound -------------------------------------------------------------------------
    async def _status(self, inbound: Inbound) -> None:
        await asyncio.to_thread(apply_status, self.rt.engine, inbound)

    async def on_stored(self, inbox_ids: list[str]) -> None:
        """Process inbox rows stored and left unprocessed (a crash between the two): start-up
        and sweep recovery. Webhooks store and process through `intake` in one trip."""
        size = self._processing.max_batch  # recovery may bring hundreds: one batch at a time
        for start in range(0, len(inbox_ids), size):
            for effects in await self._processing.submit(inbox_ids[start:start + size]):
                if effects is not None:
                    await self.after(effects)

    async def _after_all(self, results: Sequence[Effects | None]) -> None:
        for effects in results:
            if effects is not None:
                await self.after(effects)

    async def after(self, effects: Effects) -> None:
        """Provider calls that follow processing, and waking the dispatcher."""
        channel = self.channels.get(effects.provider) if effects.followup else None
        if channel is not None and effects.followup is not None:
            await channel.follow_up(effects.followup)
        if effects.messages:
            self.dispatcher.wake.set()
        if effects.safety_alert_ids:
            self.notices_wake.set()  # the caseworker hears now, not at the next sweep

    async def recover_inbox(self, older_than: timedelta = timedelta(0)) -> int:
        """Process what was stored but not processed (a crash between store and process)."""
        cutoff = utcnow() - older_than
        ids = await asyncio.to_thread(self.router.pending_ids, 500, cutoff)
        await self.on_stored(ids)
        return len(ids)

    # -- scheduled work ------------------------------------------------------------------
    def sweep(self, now: datetime | None = None) -> dict[str, int]:
        """Plan, start due surveys, remind and expire: the one interval job (sync)."""
        now = now or utcnow()
        with Session(self.rt.engine) as session:
            planned = plan_sessions(session, now, self.plan_config)
            planned += plan_followups(session, now, self.plan_config)
            session.commit()
        result = sweep_due(self.rt.engine, now, self.sweep_config, self.surveys.start_due,
                           self.worker)

        def remind(session: Session, conversation: Conversation) -> None:
            self.surveys.remind(session, conversation, now)

        def expire(session: Session, conversation: Conversation) -> None:
            self.surveys.expire(session, conversation, now)

        reminded, expired = sweep_conversations(self.rt.engine, now, remind=remind,
                                                expire=expire, cfg=self.sweep_config)
        return {"planned": planned, "started": result.started, "deferred": result.deferred,
                "missed": result.missed, "reminded": reminded, "expired": expired}

    async def sweep_job(self) -> None:
        """The APScheduler job: the sweep in a thread, then recovery and a dispatcher wake-up."""
        async with self._sweeping:
            try:
                with self.metrics.sweep_seconds.time():
                    counts = await asyncio.to_thread(self.sweep)
                # Rows a live webhook task is still processing are younger than this.
                await self.recover_inbox(older_than=timedelta(seconds=30))
            except Exception:  # a failed sweep is retried at the next interval
                log.exception("sweep failed")
                return
        if counts["started"] or counts["reminded"] or counts["expired"]:
            self.dispatcher.wake.set()

    async def send_notices(self, now: datetime | None = None) -> int:
        """Send the urgent notices due now, each claimed for its attempt; how many went."""
        return await send_urgent(self.rt.engine, self.mailer, self.mail, now or utcnow())

    async def notice_loop(self) -> None:
        """Urgent notices apart from the sweep, so a mail server that hangs delays no survey:
        every sweep interval, and at once when a safety alert was raised."""
        while not self._stop.is_set():
            self.notices_wake.clear()
            try:
                await self.send_notices()
            except Exception:  # retried at the next interval
                log.exception("notice sweep failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.notices_wake.wait(), self.rt.settings.sweep_seconds)

    def daily(self, now: datetime | None = None) -> dict[str, int]:
        """Once a day: children who turned 15 are flagged; cases due for retention review;
        rule alerts of cases with prompts just missed (the missing-ratings rule); the audit
        chain's head anchored outside the database."""
        now = now or utcnow()
        with Session(self.rt.engine) as session:
            fifteen = flag_new_fifteens(session, self.rt.vault, now)
            review = closed_for_review(session, now, DEFAULT_MONTHS)
            session.commit()
        if review:
            # Nothing is destroyed automatically: an operator reviews the list.
            log.warning("closed cases past the retention period await review",
                        count=len(review), command="stemme retention")
        spells = record_missed(self.rt.engine, self.rt.vault, now=now,
                               rules=self.rt.settings.rules.rules)
        with Session(self.rt.engine) as session:
            newest = audit.head(session)
        anchored = newest is not None and write_anchor(
            self.rt.settings.resolved_audit_anchor_file, newest, at=now)
        return {"turned_15": len(fifteen), "retention_review": len(review),
                "rule_alerts": spells, "audit_anchored": int(anchored)}

    async def daily_job(self) -> None:
        """The daily cron job."""
        try:
            await asyncio.to_thread(self.daily)
        except Exception:  # logged; tomorrow's run catches up
            log.exception("daily job failed")

    async def digest_retry_job(self) -> None:
        """Hourly: this week's digests the mail server did not take, once more each."""
        try:
            await send_digests(self.rt.engine, self.rt.vault, self.mailer, self.mail, utcnow(),
                               retry=True)
        except Exception:  # logged; the next hour tries again
            log.exception("digest retry failed")

    async def digest_job(self) -> None:
        """The weekly digest (cron); each caseworker gets one per week, whatever the processes."""
        try:
            await send_digests(self.rt.engine, self.rt.vault, self.mailer, self.mail, utcnow())
        except Exception:  # logged; the digest command can send it by hand
            log.exception("weekly digest failed")

    # -- lifecycle -----------------------------------------------------------------------
    async def open(self) -> None:
        """Open the channels and the inbox writer (enough to take webhooks)."""
        for channel in self.channels.values():
            await channel.start()
        await asyncio.to_thread(self.writer.warm_up)

    async def close(self) -> None:
        """Close the channels; the writer finishes its batch."""
        for channel in self.channels.values():
            await channel.close()
        await asyncio.to_thread(self.writer.shutdown)

    async def start(self) -> None:
        """Open, recover the inbox, start the dispatcher loop and the sweep job."""
        await self.open()
        await self.recover_inbox()
        for task in (asyncio.create_task(self.dispatcher.run_forever(self._stop)),
                     asyncio.create_task(self.notice_loop())):
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        self.scheduler = AsyncIOScheduler(timezone=self.rt.settings.zone)
        # One job with a fixed id, replaced on every boot: never one job per participant.
        self.scheduler.add_job(self.sweep_job, "interval", id="sweep", replace_existing=True,
                               seconds=self.rt.settings.sweep_seconds, coalesce=True,
                               max_instances=1, next_run_time=utcnow() + timedelta(seconds=1))
        self.scheduler.add_job(self.digest_job, "cron", id="digest", replace_existing=True,
                               coalesce=True, max_instances=1, **self.rt.settings.digest_cron)
        self.scheduler.add_job(self.digest_retry_job, "interval", id="digest-retry",
                               replace_existing=True, coalesce=True, max_instances=1, hours=1)
        self.scheduler.add_job(self.daily_job, "cron", id="daily", replace_existing=True,
                               coalesce=True, max_instances=1, hour=6, minute=0)
        self.scheduler.start()

    async def stop(self) -> None:
        """Stop the jobs and the dispatcher, close the channels."""
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
        async with self._sweeping:  # a sweep under way finishes its transaction first
            self._stop.set()
        self.dispatcher.wake.set()
        self.notices_wake.set()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=10)
        await self.close()
