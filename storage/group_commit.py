"""Group commit: concurrent callers' items run as one batch in a worker thread.

Webhook requests that arrive together are stored in one transaction, and the messages they
carry are processed in one transaction, instead of one each: a commit and a session cost
more than the work they wrap. Each caller still waits for its own result, so a webhook is
acknowledged only after the commit that holds its message.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from typing import Generic, TypeVar

import structlog

T = TypeVar("T")
R = TypeVar("R")

log = structlog.get_logger("stemme.coalesce")


class Coalescer(Generic[T, R]):
    """Runs `run(items) -> results` (one result per item, in order) for many callers at once.

    While one batch runs, new callers queue; the next batch takes all of them, up to
    `max_batch` items. If a merged batch raises, each caller's items run again on their own,
    so one caller's bad input fails only that caller.
    """

    def __init__(self, run: Callable[[list[T]], list[R]], *, max_batch: int = 64,
                 executor: Executor | None = None) -> None:
        self._run = run
        self.max_batch = max_batch
        self.executor = executor
        self._waiting: list[tuple[list[T], asyncio.Future[list[R]]]] = []
        self._worker: asyncio.Task[None] | None = None

    async def submit(self, items: Sequence[T]) -> list[R]:
        """The results for `items`, once the batch that holds them has run."""
        if not items:
            return []
        future: asyncio.Future[list[R]] = asyncio.get_running_loop().create_future()
        self._waiting.append((list(items), future))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain())
        # A caller that gives up (a client hung up) does not cancel the batch: others share it.
        return await asyncio.shield(future)

    async def _drain(self) -> None:
        while self._waiting:
            batch = self._take()
            try:
                await self._run_batch(batch)
            except BaseException as exc:  # cancelled at shutdown: nobody is left waiting
                for _, future in batch + self._waiting:
                    if not future.done():
                        future.set_exception(exc if isinstance(exc, Exception)
                                             else asyncio.CancelledError())
                self._waiting.clear()
                raise

    def _take(self) -> list[tuple[list[T], asyncio.Future[list[R]]]]:
        taken, size = 0, 0
        for items, _ in self._waiting:
            if taken and size + len(items) > self.max_batch:
                break
            taken, size = taken + 1, size + len(items)
        batch, self._waiting = self._waiting[:taken], self._waiting[taken:]
        return batch

    async def _in_thread(self, items: list[T]) -> list[R]:
        results = await asyncio.get_running_loop().run_in_executor(self.executor, self._run,
                                                                   items)
        if len(results) != len(items):
            raise RuntimeError(f"a batch of {len(items)} gave {len(results)} results")
        return results

    async def _run_batch(self, batch: list[tuple[list[T], asyncio.Future[list[R]]]]) -> None:
        flat = [item for items, _ in batch for item in items]
        try:
            results = await self._in_thread(flat)
        except Exception as exc:
            if len(batch) == 1:
                _settle(batch[0][1], error=exc)
                return
            log.warning("batch failed; running its callers one by one", error=repr(exc),
                        callers=len(batch))
            for items, future in batch:
                try:
                    own = await self._in_thread(items)
                except Exception as alone:
                    _settle(future, error=alone)
                else:
                    _settle(future, own)
            return
        start = 0
        for items, future in batch:
            _settle(future, results[start:start + len(items)])
            start += len(items)


def _settle(future: asyncio.Future[list[R]], result: list[R] | None = None, *,
            error: Exception | None = None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result or [])
