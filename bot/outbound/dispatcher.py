"""The dispatcher: sends claimed outbox rows through the channels, paced, gated, retried.

Crash safety (see storage/repo/outbox.py for the row states): a batch is claimed in one
statement, but each row is marked "sending" in a commit right before its provider call (one
commit for the rows of different addresses due at that moment; an address's rows go one at a
time), so after a crash only the rows whose call was under way are in doubt, at most one per
address.
Those come back "unsure" and are resolved per channel before anything is sent again:

- SMS: Twilio is asked which messages it holds to that number with that body since the row
  was created (`sent_matching`); one no other row owns means it went out, and it is recorded
  with that sid instead of being sent twice. Exactly once, as far as Twilio's list is exact.
- Telegram: the Bot API cannot say what a bot sent, so an unsure row is sent again: at least
  once. The window is one HTTP round trip per message (typically well under a second; bounded
  by `attempt_timeout`), and one row per chat at a time.
- Web chat: "sending" stores nothing outside the database; repeating it is harmless.

Rows a dead process had claimed but not attempted are safe to hand on. A dispatcher takes
them over at once when it can tell their holder is gone (same host, boot and pid namespace,
and that pid no longer running), otherwise after the claim lease (30 s), which live holders
renew while they work through a batch; rows in "sending" wait for the send lease (2 min).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import random
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

import structlog
from sqlalchemy import Engine
from sqlmodel import Session

from bot.channels.base import Failed, Handler, Retry, SendResult, Sent, Stop
from bot.channels.errors import NETWORK_BACKOFF, TIMEOUT_BACKOFF
from bot.channels.wire import message_from_dict, participant_address
from bot.flows.messages import OutgoingMessage
from bot.outbound.config import DispatchConfig, LooksUpSent
from bot.outbound.holders import LIVE_OWNERS, holder_is_dead, owner_token
from bot.outbound.pacing import Pacer
from consent.gate import ContactGate
from consent.withdrawal import mark_unreachable, withdraw
from storage.group_commit import Coalescer
from storage.models import Participant, utcnow
from storage.repo import outbox
from storage.vault import Vault

log = structlog.get_logger("stemme.dispatch")
_T = TypeVar("_T")

# Retry reasons that prove the provider did not take the message; any other failed attempt
# (timeout, dropped connection, 5xx, an adapter bug) may have reached it.
_NOT_SENT = frozenset({"rate_limited"})
class Dispatcher:
    """Claims outbox rows per channel and sends them, one task per address, in order."""

    def __init__(self, *, engine: Engine, vault: Vault, channels: Mapping[str, Handler],
                 worker: str, config: DispatchConfig | None = None,
                 clock: Callable[[], datetime] = utcnow,
                 rates: Mapping[str, float] | None = None,
                 on_outcome: Callable[[str, str], None] | None = None) -> None:
        self.engine, self.vault, self.channels, self.worker = engine, vault, channels, worker
        # Told each attempt's outcome per channel (the process's metrics count them).
        self._on_outcome = on_outcome or (lambda channel, outcome: None)
        self.owner = owner_token()  # `worker` names the process in logs; claims need more
        LIVE_OWNERS.add(self.owner)
        self.gate = ContactGate(vault)
        self.config = config or DispatchConfig()
        self.clock = clock
        self.wake = asyncio.Event()
        self._busy: dict[str, int] = {}  # batches under way, per channel
        self._quiet = asyncio.Condition()  # told when one ends
        # `rates` overrides a channel's overall units/s (SMS segments, Telegram messages).
        self.rates = {name: (rates or {}).get(name) or ch.info.segments_per_second
                      or ch.info.messages_per_second for name, ch in channels.items()}
        self.pacers = {name: Pacer(self.rates[name], ch.info.per_address_per_second,
                                   ch.info.per_address_burst)
                       for name, ch in channels.items()}
        self.send_pacers = {name: Pacer(self.rates[name], ch.info.per_address_per_second,
                                        ch.info.per_address_burst)
                            for name, ch in channels.items()}
        # Its own two threads for database work: hundreds of sends in flight would otherwise
        # crowd the shared pool, and more threads only fight over the GIL (measured: fewer
        # threads sent more messages per second on SQLite and PostgreSQL alike).
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="dispatch-db")
        # Rows of many addresses become due together: their database work is one commit
        # before the sends, and one after (group commit, as for inbound messages).
        self._preparing: Coalescer[outbox.Claimed, tuple[str | None, int | None]] = \
            Coalescer(self._prepare_many, executor=self._pool, max_batch=200)
        self._recording: Coalescer[tuple[outbox.Claimed, str, SendResult], datetime | None] = \
            Coalescer(self._record_many, executor=self._pool, max_batch=200)

    async def _db(self, func: Callable[..., _T], /, *args: Any, **kwargs: Any) -> _T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(func, *args, **kwargs))

    # -- the loop --------------------------------------------------------------------------
    async def run_once(self) -> int:
        """Claim and send one batch on every channel; returns how many rows were handled."""
        handled = await asyncio.gather(*(self._channel_batch(n) for n in self.channels))
        return sum(handled)

    async def run_forever(self, stop: asyncio.Event, idle_seconds: float = 1.0) -> None:
        """Dispatch until `stop` is set; sleeps when idle unless woken by new outbox rows."""
        next_recovery = 0.0
        while not stop.is_set():
            try:
                if time.monotonic() >= next_recovery:  # at start-up, then now and then
                    await self.recover()
                    next_recovery = time.monotonic() + self.config.recover_every
                handled = await self.run_once()
            except Exception:  # the loop must outlive a database hiccup; logged, retried
                log.exception("dispatch batch failed")
                handled = 0
            if not handled:
                self.wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), idle_seconds)

    async def run_channel(self, name: str) -> int:
        """Claim and send one batch on one channel, then wait for this process's other
        batches on it to finish: the web-chat page shows a reply only once it is sent."""
        handled = await self._channel_batch(name)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.config.attempt_timeout / 10), self._quiet:
                await self._quiet.wait_for(lambda: not self._busy.get(name))
        return handled

    async def recover(self) -> tuple[int, int]:
        """Take back rows whose holder is certainly dead; returns (released, interrupted).

        Their "claimed" rows are sent as if never claimed; their "sending" rows come back
        unsure and are resolved with the provider before anything is sent again.
        """
        def run() -> tuple[int, int]:
            released = interrupted = 0
            for holder in outbox.holders(self.engine):
                if holder != self.owner and holder_is_dead(holder):
                    counts = outbox.recover(self.engine, holder)
                    released, interrupted = released + counts[0], interrupted + counts[1]
                    log.info("took over a dead dispatcher's messages", holder=holder,
                             released=counts[0], interrupted=counts[1])
            return released, interrupted

        return await self._db(run)

    async def _channel_batch(self, name: str) -> int:
        self._busy[name] = self._busy.get(name, 0) + 1
        try:
            return await self._claim_and_send(name)
        finally:
            self._busy[name] -= 1
            async with self._quiet:
                self._quiet.notify_all()

    async def _claim_and_send(self, name: str) -> int:
        rate = self.rates[name] or 50.0
        limit = max(1, min(200, int(rate * self.config.batch_seconds)))
        held = self.pacers[name].held(self.config.hold_limit)
        by_address, prepared = await self._db(self._claim_and_prepare, name, limit, held)
        if not by_address:
            return 0
        started_at = time.monotonic()
        renewing = asyncio.create_task(self._keep_claims(name))
        try:
            await asyncio.gather(*(self._send_in_order(name, rs, prepared.get(rs[0].id))
                                   for rs in by_address.values()))
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
        log.debug("batch dispatched", channel=name, rows=sum(map(len, by_address.values())),
                  recipients=len(by_address),
                  duration_ms=round((time.monotonic() - started_at) * 1000, 1))
        return sum(len(rs) for rs in by_address.values())

    def _claim_and_prepare(self, name: str, limit: int, held: set[str]) -> tuple[
            dict[str, list[outbox.Claimed]], dict[str, tuple[str | None, int | None]]]:
        """Claim a batch, and prepare each address's first row in the same trip to the
        database thread (the gate and "sending", see `_prepare_many`): the next question
        needs no second trip. Rows of an address its pacing holds are prepared when due."""
        rows = outbox.claim(self.engine, self.vault, worker=self.owner, now=self.clock(),
                            limit=limit, channel=name)
        by_address: dict[str, list[outbox.Claimed]] = {}
        for row in rows:
            by_address.setdefault(self._address_key(row), []).append(row)
        heads = [rs[0] for key, rs in by_address.items() if key not in held]
        done = self._prepare_many(heads) if heads else []
        return by_address, {row.id: result for row, result in zip(heads, done, strict=True)}

    async def _keep_claims(self, name: str) -> None:
        """While a batch is worked through, keep its claims from lapsing (we are alive)."""
        every = outbox.CLAIM_LEASE.total_seconds() / 3
        while True:
            await asyncio.sleep(every)
            try:
                await self._db(outbox.renew, self.engine, worker=self.owner,
                                        now=self.clock(), channel=name)
            except Exception:  # a missed renewal only risks a hand-over, which is safe
                log.exception("renewing claims failed", channel=name)

    @staticmethod
    def _address_key(row: outbox.Claimed) -> str:
        return str(row.payload.get("address") or row.participant_id or row.id)

    async def _send_in_order(self, name: str, rows: list[outbox.Claimed],
                             prepared: tuple[str | None, int | None] | None = None) -> None:
        for index, row in enumerate(rows):
            held = self.pacers[name].ready_at(self._address_key(row)) - time.monotonic()
            if prepared is None and held > self.config.hold_limit:
                # This chat had its burst: its rows wait in the queue, not in this batch.
                await self._db(outbox.release, self.engine, [r.id for r in rows[index:]],
                               worker=self.owner,
                               not_before=self.clock() + timedelta(seconds=held))
                return
            hold_until = await self._send_one(name, row, prepared if index == 0 else None)
            if hold_until is not None:
                # Keep the order of one person's messages: the rest were never attempted, so
                # they go back, due no earlier than the one that has to wait.
                await self._db(outbox.release, self.engine,
                                        [later.id for later in rows[index + 1 :]],
                                        worker=self.owner, not_before=hold_until)
                return

    # -- one message -----------------------------------------------------------------------
    def _check(self, session: Session, row: outbox.Claimed) -> tuple[str | None, str]:
        """Right before sending: ask the gate and resolve the address (sync, in a thread)."""
        address = row.payload.get("address")
        if row.participant_id is None:
            return (str(address), "ok") if address else (None, "no_address")
        person = session.get(Participant, row.participant_id)
        if person is None:
            return None, "participant:gone"
        decision = self.gate.may_contact(session, person, row.purpose, row.channel,
                                         self.clock())
        if not decision:
            return None, decision.reason
        resolved = address or participant_address(session, self.vault, person)
        return (str(resolved), "ok") if resolved else (None, "no_address")

    def _prepare_many(self, rows: list[outbox.Claimed]) -> list[tuple[str | None, int | None]]:
        """Gate, address, then "sending", in one commit for rows due at the same moment:
        per row (address, attempt number); (None, None) when the gate cancelled it.

        The rows are each the next of a different address (one task per address sends in
        order), so from the commit on a crash leaves at most one row per address in doubt,
        as if each had its own commit; one commit for all keeps the database off the path.
        """
        results: list[tuple[str | None, int | None]] = []
        with Session(self.engine) as session:
            for row in rows:
                address, reason = self._check(session, row)
                if address is None:
                    outbox.mark_failed(session, row.id, error=reason, status="cancelled",
                                       worker=self.owner)
                    results.append((None, None))
                    continue
                results.append((address, outbox.begin_attempt_in(
                    session, row.id, worker=self.owner, now=self.clock())))
            session.commit()
        return results

    async def _send_one(self, name: str, row: outbox.Claimed,
                        prepared: tuple[str | None, int | None] | None = None
                        ) -> datetime | None:
        """Send one row (`prepared`: its gate and "sending" done already, with the claim);
        a time when it must be retried later (and later rows held till then)."""
        message = message_from_dict(row.payload.get("message", {}))
        units = self.channels[name].units(message)
        first_address = str(row.payload.get("address") or row.participant_id or row.id)
        await self.pacers[name].wait(first_address, units)
        [(address, attempts)] = [prepared] if prepared is not None else \
            await self._preparing.submit([row])
        if address is None:
            return None  # cancelled: the gate said no
        if attempts is None:
            log.warning("claim lapsed; another dispatcher has the message", id=row.id)
            return self.clock()
        row = replace(row, attempts=attempts)
        try:
            # One bound for the whole attempt, so a "sending" row outlives it by far.
            async with asyncio.timeout(self.config.attempt_timeout):
                result = await self._attempt(name, address, message, row, first_address, units)
        except TimeoutError:
            result = Retry(TIMEOUT_BACKOFF, "timeout")
        except Exception as exc:  # an adapter bug must not lose the message: retry it
            log.exception("channel send raised", channel=name, error=exc.__class__.__name__)
            result = Retry(0.0, f"adapter error: {exc.__class__.__name__}")
        [retry_at] = await self._recording.submit([(row, first_address, result)])
        return retry_at

    async def _attempt(self, name: str, address: str, message: OutgoingMessage,
                       row: outbox.Claimed, pace_key: str, units: int) -> SendResult:
        channel = self.channels[name]
        if row.unsure:
            if isinstance(channel, LooksUpSent):
                found = await self._look_up(channel, address, message, row)
                if found is not None:
                    return found
            elif name != "webchat":
                # Telegram cannot tell us what a bot sent: at least once, never dropped.
                log.warning("sending again a message that may have arrived", channel=name,
                            id=row.id)
        # The slot was booked before the database work; a stalled thread pool can release
        # several sends at once, so the limits are enforced again where the request leaves.
        await self.send_pacers[name].wait(pace_key, units)
        return await channel.send(address, message, idempotency_key=row.idempotency_key)

    async def _look_up(self, channel: LooksUpSent, address: str, message: OutgoingMessage,
                       row: outbox.Claimed) -> SendResult | None:
        """Sent(sid) when the provider has this message already; None when it must be sent."""
        sids = await channel.sent_matching(address, message, since=row.created_at)
        if sids is None:
            return Retry(NETWORK_BACKOFF, "look-up failed")  # never send blind
        # A message with the same text to the same number that another row owns is not ours.
        owned = await self._db(outbox.known_provider_ids, self.engine, sids)
        mine = [sid for sid in sids if sid not in owned]
        if mine:
            log.info("message had gone out before the interruption", id=row.id)
            return Sent(provider_message_id=mine[0])
        return None

    def _backoff(self, attempts: int) -> float:
        cfg = self.config
        delay = min(cfg.max_backoff, cfg.base_backoff * 2.0 ** (attempts - 1))
        return float(delay * random.uniform(0.8, 1.2))  # jitter spreads retries apart

    def _record_many(self, done: list[tuple[outbox.Claimed, str, SendResult]]
                     ) -> list[datetime | None]:
        """What the providers said, for rows sent at about the same time, in one commit."""
        with Session(self.engine) as session:
            retry_at = [self._record(session, row, address, result)
                        for row, address, result in done]
            session.commit()
        for row, _, result in done:
            self._on_outcome(row.channel, result.outcome)
        return retry_at

    def _record(self, session: Session, row: outbox.Claimed, address: str,
                result: SendResult) -> datetime | None:
        """One row's result: sent, retry later (the time), or done with for good."""
        now, owner = self.clock(), self.owner
        if isinstance(result, Sent):
            outbox.mark_sent(session, row.id, result.provider_message_id, worker=owner)
            return None
        if isinstance(result, Retry):
            unsure = result.reason not in _NOT_SENT
            if row.attempts >= self.config.max_attempts:
                outbox.mark_failed(session, row.id, error=f"gave up: {result.reason}",
                                   worker=owner)
                log.warning("send failed", outcome="final", channel=row.channel,
                            error=result.reason, attempts=row.attempts, id=row.id)
                return None
            # A provider's retry_after is binding; other hints yield to our own backoff.
            if result.reason == "rate_limited":
                wait = result.after_seconds
                self.pacers[row.channel].push_back(address, wait)
            else:
                wait = self._backoff(row.attempts)
            retry_at = now + timedelta(seconds=wait)
            log.warning("send failed", outcome="retry", channel=row.channel,
                        error=result.reason, attempts=row.attempts, retry_in_s=round(wait, 1),
                        id=row.id)
            outbox.mark_retry(session, row.id, not_before=retry_at, error=result.reason,
                              unsure=unsure, worker=owner)
            return retry_at
        if isinstance(result, Stop):
            person = session.get(Participant, row.participant_id) if row.participant_id \
                else None
            if person is not None and result.reason == "opted_out":
                withdraw(session, person, at=now, via=f"{row.channel}:opted_out",
                         recorded_by=f"provider:{row.channel}")
            elif person is not None:
                mark_unreachable(session, person, at=now, reason=result.reason)
            outbox.mark_failed(session, row.id, error=f"stopped: {result.reason}",
                               worker=owner)
            log.warning("send failed", outcome="stopped", channel=row.channel,
                        error=result.reason, id=row.id)
            return None
        assert isinstance(result, Failed)
        log.warning("send failed", outcome="final", channel=row.channel, error=result.reason,
                    attempts=row.attempts, id=row.id)
        outbox.mark_failed(session, row.id, error=result.reason, worker=owner)
        return None
