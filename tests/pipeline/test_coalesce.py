"""Concurrent callers share one batch; each gets its own results, or its own error."""

from __future__ import annotations

import asyncio
import threading

import pytest

from storage.group_commit import Coalescer


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


async def queued_behind_a_held_batch(run: Recorder, coalescer: Coalescer[int, int],
                                     *callers: list[int]) -> list[asyncio.Task[list[int]]]:
    """A first caller's batch ([0]) held running while `callers` queue; all their tasks."""
    run.release.clear()
    tasks = [asyncio.create_task(coalescer.submit([0]))]
    await asyncio.sleep(0.05)
    tasks += [asyncio.create_task(coalescer.submit(items)) for items in callers]
    await asyncio.sleep(0.05)
    return tasks


async def test_callers_who_arrive_during_a_batch_share_the_next_one() -> None:
    run = Recorder()
    tasks = await queued_behind_a_held_batch(run, Coalescer(run),
                                             *([n, n + 100] for n in range(2, 6)))

    run.release.set()
    results = await asyncio.gather(*tasks)

    # Two batches, and each caller got its own results in order.
    assert run.batches == [[0], [2, 102, 3, 103, 4, 104, 5, 105]]
    assert results == [[0], [4, 204], [6, 206], [8, 208], [10, 210]]


async def test_a_batch_is_never_larger_than_its_limit_unless_one_caller_is() -> None:
    run = Recorder()
    tasks = await queued_behind_a_held_batch(run, Coalescer(run, max_batch=4),
                                             [1, 2], [3, 4], [5, 6, 7, 8, 9], [10])

    run.release.set()
    await asyncio.gather(*tasks)

    assert run.batches == [[0], [1, 2, 3, 4], [5, 6, 7, 8, 9], [10]]


async def test_one_callers_bad_input_fails_only_that_caller() -> None:
    run = Recorder()
    first, good, bad, also_good = await queued_behind_a_held_batch(
        run, Coalescer(run), [2], [-3], [4])

    run.release.set()

    assert await first == [0]
    assert await good == [4] and await also_good == [8]
    with pytest.raises(ValueError, match="negative"):
        await bad
    # The merged batch failed, then each caller ran alone.
    assert run.batches[1:] == [[2, -3, 4], [2], [-3], [4]]


async def test_a_caller_that_gives_up_does_not_cancel_the_others() -> None:
    run = Recorder()
    first, leaving, staying = await queued_behind_a_held_batch(run, Coalescer(run), [2], [3])
    leaving.cancel()

    run.release.set()

    assert await first == [0] and await staying == [6]
    assert run.batches == [[0], [2, 3]]
