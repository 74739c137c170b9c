"""Concurrent callers share one batch; each gets its own results, or its own error."""

from __future__ import annotations

import asyncio
import threading

import pytest

from bot.coalesce import Coalescer


class Recorder:
    """A batch function that doubles numbers, records batches and fails on negatives."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.release = threading.Event()
        self.release.set()

    def __call__(self, items: list[int]) -> list[int]:
        self.release.wait(5)
        self.batches.append(list(items))
        if any(item < 0 for item in items):
            raise ValueError("negative")
        return [item * 2 for item in items]


async def test_callers_who_arrive_during_a_batch_share_the_next_one() -> None:
    # Arrange: the first batch is held until everyone else has queued.
    run = Recorder()
    run.release.clear()
    coalescer = Coalescer(run)
    first = asyncio.create_task(coalescer.submit([1]))
    await asyncio.sleep(0.05)
    others = [asyncio.create_task(coalescer.submit([n, n + 100])) for n in range(2, 6)]
    await asyncio.sleep(0.05)

    # Act
    run.release.set()
    results = await asyncio.gather(first, *others)

    # Assert: two batches, and each caller got its own results in order.
    assert run.batches == [[1], [2, 102, 3, 103, 4, 104, 5, 105]]
    assert results == [[2], [4, 204], [6, 206], [8, 208], [10, 210]]


async def test_a_batch_is_never_larger_than_its_limit_unless_one_caller_is() -> None:
    run = Recorder()
    run.release.clear()
    coalescer = Coalescer(run, max_batch=4)
    first = asyncio.create_task(coalescer.submit([0]))
    await asyncio.sleep(0.05)
    rest = [asyncio.create_task(coalescer.submit(items))
            for items in ([1, 2], [3, 4], [5, 6, 7, 8, 9], [10])]
    await asyncio.sleep(0.05)

    run.release.set()
    await asyncio.gather(first, *rest)

    assert run.batches == [[0], [1, 2, 3, 4], [5, 6, 7, 8, 9], [10]]


async def test_one_callers_bad_input_fails_only_that_caller() -> None:
    run = Recorder()
    run.release.clear()
    coalescer = Coalescer(run)
    first = asyncio.create_task(coalescer.submit([1]))
    await asyncio.sleep(0.05)
    good = asyncio.create_task(coalescer.submit([2]))
    bad = asyncio.create_task(coalescer.submit([-3]))
    also_good = asyncio.create_task(coalescer.submit([4]))
    await asyncio.sleep(0.05)

    run.release.set()

    assert await first == [2]
    assert await good == [4] and await also_good == [8]
    with pytest.raises(ValueError, match="negative"):
        await bad
    # The merged batch failed, then each caller ran alone.
    assert run.batches[1:] == [[2, -3, 4], [2], [-3], [4]]


async def test_a_caller_that_gives_up_does_not_cancel_the_others() -> None:
    run = Recorder()
    run.release.clear()
    coalescer = Coalescer(run)
    first = asyncio.create_task(coalescer.submit([1]))
    await asyncio.sleep(0.05)
    leaving = asyncio.create_task(coalescer.submit([2]))
    staying = asyncio.create_task(coalescer.submit([3]))
    await asyncio.sleep(0.05)
    leaving.cancel()

    run.release.set()

    assert await first == [2] and await staying == [6]
    assert run.batches == [[1], [2, 3]]
