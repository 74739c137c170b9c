"""The inbound stage's front door: what a channel's route parsed is stored, then processed."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from bot.channels.base import ChannelName, Inbound
from storage.group_commit import Coalescer

# Process newly stored inbox rows (their ids, after the commit).
Process = Callable[[list[str]], Coroutine[Any, Any, None]]
# Send one channel's queued messages now; how many were handled.
SendNow = Callable[[str], Awaitable[int]]
# Record a delivery report.
Status = Callable[[Inbound], Awaitable[None]]


class Intake:
    """Stores inbound messages durably (group commit) and processes them after the answer."""

    def __init__(self, *, store: Coalescer[Inbound, str | None], process: Process,
                 send_now: SendNow, status: Status) -> None:
        self._store, self._process = store, process
        self._send_now, self._status = send_now, status
        # Processing runs after the webhook's answer; the set keeps its tasks alive till done.
        self.tasks: set[asyncio.Task[None]] = set()

    async def store(self, inbounds: list[Inbound]) -> list[str]:
        """Commit the messages to the inbox; the ids stored for the first time."""
        return [row_id for row_id in await self._store.submit(inbounds) if row_id]

    async def process(self, inbox_ids: list[str]) -> None:
        """Process rows stored a moment ago (a poller that confirms only after the commit)."""
        await self._process(inbox_ids)

    async def accept(self, inbounds: list[Inbound]) -> None:
        """Store (returns after the commit), then process in a task of its own."""
        new_ids = await self.store(inbounds)
        if new_ids:
            task = asyncio.create_task(self._process(new_ids))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def accept_and_reply(self, inbounds: list[Inbound], channel: ChannelName) -> None:
        """Store, process, and send `channel`'s replies before returning."""
        new_ids = await self.store(inbounds)
        if new_ids:
            await self._process(new_ids)
            await self._send_now(channel)

    async def delivery_status(self, inbound: Inbound) -> None:
        """Record a delivery report (nothing to store first: the outbox row is the record)."""
        await self._status(inbound)

    async def drain(self, timeout: float = 10) -> None:
        """Let acknowledged messages finish processing (before the process goes)."""
        if self.tasks:
            await asyncio.wait(self.tasks, timeout=timeout)
