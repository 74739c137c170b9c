"""Store, then process, in one trip to the inbox writer; each webhook learns of its commit at once.

Webhooks that arrive together are stored in one transaction (group commit) and the messages
then processed together in one more, in the same trip to the writer thread: no second hand-off
between storing and processing. Each caller is told its row ids the moment the store commits,
so its webhook answers 2xx then, while processing goes on. If a merged store fails, each
caller's messages are stored (and processed) on their own, so one bad request fails only
itself. A writer in a child process cannot call back mid-trip: there the two are two trips.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import structlog

from bot.channels.base import Inbound

E = TypeVar("E")  # what processing one row gives back

log = structlog.get_logger("stemme.inbound")

Store = Callable[[list[Inbound]], list[str | None]]


@dataclass
class _Caller(Generic[E]):
    inbounds: list[Inbound]
    stored: asyncio.Future[list[str]]
    processed: asyncio.Future[list[E]]
    ids: list[str] = field(default_factory=list)


class StoreThenProcess(Generic[E]):
    """Runs `store(inbounds)`, then `process(new ids)`, for many callers at once."""

    def __init__(self, store: Store, process: Callable[[list[str]], list[E]], *,
                 executor: Executor, one_trip: bool = True, max_batch: int = 64) -> None:
        self._store, self._process, self._executor = store, process, executor
        self._one_trip, self.max_batch = one_trip, max_batch
        self._waiting: list[_Caller[E]] = []
        self._worker: asyncio.Task[None] | None = None

    async def submit(self, inbounds: list[Inbound]) -> tuple[list[str], asyncio.Future[list[E]]]:
        """The ids stored for the first time, once committed; and what processing them gave,
        as a future that resolves when that is done."""
        loop = asyncio.get_running_loop()
        caller: _Caller[E] = _Caller(list(inbounds), loop.create_future(), loop.create_future())
        self._waiting.append(caller)
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain())
        # A client that hangs up does not cancel the batch: others share it.
        return await asyncio.shield(caller.stored), caller.processed

    async def _drain(self) -> None:
        while self._waiting:
            batch: list[_Caller[E]] = []
            size = 0
            while self._waiting and (not batch or size + len(self._waiting[0].inbounds)
                                     <= self.max_batch):
                size += len(self._waiting[0].inbounds)
                batch.append(self._waiting.pop(0))
            try:
                await self._run(batch)
            except Exception as exc:
                if len(batch) == 1:
                    _fail(batch[0], exc)
                    continue
                log.warning("inbound batch failed; storing its requests one by one",
                            error=exc.__class__.__name__, callers=len(batch))
                for caller in batch:
                    if caller.stored.done():  # stored before the failure: only processing
                        _fail(caller, exc)
                        continue
                    try:
                        await self._run([caller])
                    except Exception as alone:
                        _fail(caller, alone)
            except BaseException as exc:  # cancelled at shutdown: nobody is left waiting
                for caller in batch + self._waiting:
                    _fail(caller, asyncio.CancelledError() if not isinstance(exc, Exception)
                          else exc)
                self._waiting.clear()
                raise

    async def _run(self, batch: list[_Caller[E]]) -> None:
        loop = asyncio.get_running_loop()
        flat = [inbound for caller in batch for inbound in caller.inbounds]

        def stored(ids: list[str | None]) -> None:
            start = 0
            for caller in batch:
                caller.ids = [i for i in ids[start:start + len(caller.inbounds)] if i]
                start += len(caller.inbounds)
                if not caller.stored.done():
                    caller.stored.set_result(caller.ids)

        def trip() -> list[E]:
            ids = self._store(flat)
            loop.call_soon_threadsafe(stored, ids)
            new = [i for i in ids if i]
            return self._process(new) if new else []

        if self._one_trip:
            results = await loop.run_in_executor(self._executor, trip)
        else:
            ids = await loop.run_in_executor(self._executor, self._store, flat)
            stored(ids)
            new = [i for i in ids if i]
            results = await loop.run_in_executor(self._executor, self._process, new) \
                if new else []
        # `stored` ran already: the thread scheduled it before the trip's own result.
        by_id = dict(zip([i for caller in batch for i in caller.ids], results, strict=True))
        for caller in batch:
            if not caller.processed.done():
                caller.processed.set_result([by_id[i] for i in caller.ids])


def _fail(caller: _Caller[E], exc: BaseException) -> None:
    for future in (caller.stored, caller.processed):
        if not future.done():
            future.set_exception(exc)
    # Nobody may await `processed` (a webhook that answered): mark it retrieved.
    if caller.processed.done() and not caller.processed.cancelled():
        caller.processed.exception()
