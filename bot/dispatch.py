"""The dispatcher: sends claimed outbox rows through the channels, paced, gated, retried."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import Engine
from sqlmodel import Session

from bot.channels.base import Failed, Handler, Retry, SendResult, Sent, Stop
from bot.flows.gsm7 import segments
from bot.ratelimit import Pacer
from bot.wire import address_of, message_from_dict
from consent.gate import ContactGate
from consent.withdrawal import mark_unreachable, withdraw
from storage.models import Participant, utcnow
from storage.repo import outbox
from storage.repo.cases import view_participant
from storage.vault import Vault

log = structlog.get_logger("stemme.dispatch")


@dataclass(frozen=True)
class DispatchConfig:
    """Retry policy and batch size."""

    max_attempts: int = 8
    base_backoff: float = 2.0  # seconds; doubled per attempt
    max_backoff: float = 600.0
    batch_seconds: float = 10.0  # claim about this many seconds of sending at a time


class Dispatcher:
    """Claims outbox rows per channel and sends them, one task per address, in order."""

    def __init__(self, *, engine: Engine, vault: Vault, channels: Mapping[str, Handler],
                 worker: str, config: DispatchConfig | None = None,
                 clock: Callable[[], datetime] = utcnow,
                 rates: Mapping[str, float] | None = None) -> None:
        self.engine, self.vault, self.channels, self.worker = engine, vault, channels, worker
        self.gate = ContactGate(vault)
        self.config = config or DispatchConfig()
        self.clock = clock
        self.wake = asyncio.Event()
        # `rates` overrides a channel's overall units/s (SMS segments, Telegram messages).
        self.rates = {name: (rates or {}).get(name) or ch.info.segments_per_second
                      or ch.info.messages_per_second for name, ch in channels.items()}
        self.pacers = {name: Pacer(self.rates[name], ch.info.per_address_per_second)
                       for name, ch in channels.items()}

    # -- the loop --------------------------------------------------------------------------
    async def run_once(self) -> int:
        """Claim and send one batch on every channel; returns how many rows were handled."""
        handled = await asyncio.gather(*(self._channel_batch(n) for n in self.channels))
        return sum(handled)

    async def run_forever(self, stop: asyncio.Event, idle_seconds: float = 1.0) -> None:
        """Dispatch until `stop` is set; sleeps when idle unless woken by new outbox rows."""
        while not stop.is_set():
            try:
                handled = await self.run_once()
            except Exception:  # the loop must outlive a database hiccup; logged, retried
                log.exception("dispatch batch failed")
                handled = 0
            if not handled:
                self.wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), idle_seconds)

    async def run_channel(self, name: str) -> int:
        """Claim and send one batch on one channel (the web chat runs this per request)."""
        return await self._channel_batch(name)

    async def _channel_batch(self, name: str) -> int:
        rate = self.rates[name] or 50.0
        limit = max(1, min(200, int(rate * self.config.batch_seconds)))
        rows = await asyncio.to_thread(outbox.claim, self.engine, self.vault, worker=self.worker,
                                       now=self.clock(), limit=limit, channel=name)
        by_address: dict[str, list[outbox.Claimed]] = {}
        for row in rows:
            by_address.setdefault(self._address_key(row), []).append(row)
        await asyncio.gather(*(self._send_in_order(name, rs) for rs in by_address.values()))
        return len(rows)

    @staticmethod
    def _address_key(row: outbox.Claimed) -> str:
        return str(row.payload.get("address") or row.participant_id or row.id)

    async def _send_in_order(self, name: str, rows: list[outbox.Claimed]) -> None:
        for index, row in enumerate(rows):
            if not await self._send_one(name, row):
                # Keep the order of one person's messages: the rest wait for the next batch.
                for later in rows[index + 1 :]:
                    await asyncio.to_thread(outbox.mark_retry, self.engine, later.id,
                                            not_before=self.clock(), error="held for order")
                return

    # -- one message -----------------------------------------------------------------------
    def _check(self, row: outbox.Claimed) -> tuple[str | None, str]:
        """Right before sending: ask the gate and resolve the address (sync, in a thread)."""
        address = row.payload.get("address")
        if row.participant_id is None:
            return (str(address), "ok") if address else (None, "no_address")
        with Session(self.engine) as session:
            person = session.get(Participant, row.participant_id)
            if person is None:
                return None, "participant:gone"
            decision = self.gate.may_contact(session, person, row.purpose, row.channel,
                                             self.clock())
            if not decision:
                return None, decision.reason
            resolved = address or address_of(view_participant(session, self.vault, person))
            return (str(resolved), "ok") if resolved else (None, "no_address")

    async def _send_one(self, name: str, row: outbox.Claimed) -> bool:
        """Send one row; False when it must be retried later (and later rows held back)."""
        message = message_from_dict(row.payload.get("message", {}))
        pacer, channel = self.pacers[name], self.channels[name]
        units = segments(message.text)[1] if name == "sms" else 1
        first_address = str(row.payload.get("address") or row.participant_id or row.id)
        await pacer.wait(first_address, units)
        address, reason = await asyncio.to_thread(self._check, row)
        if address is None:
            await asyncio.to_thread(outbox.mark_failed, self.engine, row.id, error=reason,
                                    status="cancelled")
            return True
        try:
            result: SendResult = await channel.send(address, message,
                                                    idempotency_key=row.idempotency_key)
        except Exception as exc:  # an adapter bug must not lose the message: retry it
            log.exception("channel send raised", channel=name)
            result = Retry(0.0, f"adapter error: {exc.__class__.__name__}")
        return await asyncio.to_thread(self._record, row, first_address, result)

    def _backoff(self, attempts: int) -> float:
        cfg = self.config
        delay = min(cfg.max_backoff, cfg.base_backoff * 2.0 ** (attempts - 1))
        return float(delay * random.uniform(0.8, 1.2))  # jitter spreads retries apart

    def _record(self, row: outbox.Claimed, address: str, result: SendResult) -> bool:
        now = self.clock()
        if isinstance(result, Sent):
            outbox.mark_sent(self.engine, row.id, result.provider_message_id)
            return True
        if isinstance(result, Retry):
            if row.attempts >= self.config.max_attempts:
                outbox.mark_failed(self.engine, row.id, error=f"gave up: {result.reason}")
                log.warning("message failed for good", channel=row.channel, id=row.id)
                return True
            # A provider's retry_after is binding; other hints yield to our own backoff.
            if result.reason == "rate_limited":
                wait = result.after_seconds
                self.pacers[row.channel].push_back(address, wait)
            else:
                wait = self._backoff(row.attempts)
            outbox.mark_retry(self.engine, row.id, not_before=now + timedelta(seconds=wait),
                              error=result.reason)
            return False
        if isinstance(result, Stop):
            with Session(self.engine) as session:
                person = session.get(Participant, row.participant_id) if row.participant_id \
                    else None
                if person is not None and result.reason == "opted_out":
                    withdraw(session, person, at=now, via=f"{row.channel}:opted_out",
                             recorded_by=f"provider:{row.channel}")
                elif person is not None:
                    mark_unreachable(session, person, at=now, reason=result.reason)
                session.commit()
            outbox.mark_failed(self.engine, row.id, error=f"stopped: {result.reason}")
            return True
        assert isinstance(result, Failed)
        outbox.mark_failed(self.engine, row.id, error=result.reason)
        return True
