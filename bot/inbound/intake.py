"""The inbound stage's front door: what a channel's route parsed is stored, then processed."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from bot.channels.base import ChannelName, Inbound
from bot.inbound.pipeline import StoreThenProcess

E = TypeVar("E")
# What follows processing an input, in the event loop (provider calls, waking the sender).
After = Callable[[Sequence[E | None]], Awaitable[None]]
# Send one channel's queued messages now; how many were handled.
SendNow = Callable[[str], Awaitable[int]]
# Record a delivery report.
Status = Callable[[Inbound], Awaitable[None]]


class Intake(Generic[E]):
    """Stores inbound messages durably (group commit) and processes them after the answer."""

    def __init__(self, *, pipeline: StoreThenProcess[E | None], after: After[E],
                 send_now: SendNow, status: Status) -> None:
        self._pipeline, self._after = pipeline, after
        self._send_now, self._status = send_now, status
        # Processing runs after the webhook's answer; the set keeps its tasks alive till done.
        self.tasks: set[asyncio.Task[None]] = set()

    async def accept(self, inbounds: list[Inbound]) -> None:
        """Store (returns after the commit); processing goes on in the background."""
        new_ids, processed = await self._pipeline.submit(inbounds)
        if new_ids:
            task = asyncio.create_task(self._follow(processed))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def accept_and_reply(self, inbounds: list[Inbound], channel: ChannelName) -> None:
        """Store, process, and send `channel`'s replies before returning."""
        new_ids, processed = await self._pipeline.submit(inbounds)
        if new_ids:
            await self._follow(processed)
            await self._send_now(channel)

    async def _follow(self, processed: asyncio.Future[list[E | None]]) -> None:
        try:
            results = await processed
        except Exception:  # stored, so the recovery sweep processes it again; nothing lost
            return
        await self._after(results)

    async def delivery_status(self, inbound: Inbound) -> None:
        """Record a delivery report (nothing to store first: the outbox row is the record)."""
        await self._status(inbound)

    async def drain(self, timeout: float = 10) -> None:
        """Let acknowledged messages finish processing (before the process goes)."""
        if self.tasks:
            await asyncio.wait(self.tasks, timeout=timeout)
