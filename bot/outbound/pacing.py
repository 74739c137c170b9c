"""Send pacing per channel: evenly spaced overall slots plus a minimum gap per address."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

# Pace a little under the provider's limit: network jitter can bunch requests that left on
# time, and a provider counting 31 in a second answers 429.
SAFETY = 0.9


class Pacer:
    """At most `rate` units/s overall and `per_address` messages/s to any one address.

    Senders for one address must await `wait` one at a time (the dispatcher runs one task
    per address); senders for different addresses may await it concurrently.
    """

    def __init__(self, rate: float | None, per_address: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._interval = 1.0 / (rate * SAFETY) if rate else 0.0
        self._gap = 1.0 / (per_address * SAFETY) if per_address else 0.0
        self._clock = clock
        self._next_overall = 0.0
        self._not_before: dict[str, float] = {}

    def push_back(self, address: str, seconds: float) -> None:
        """The provider said "retry after": hold this address back at least that long."""
        until = self._clock() + seconds
        self._not_before[address] = max(self._not_before.get(address, 0.0), until)

    async def wait(self, address: str, units: int = 1) -> None:
        """Sleep until this address may be sent to again and an overall slot is free."""
        ready = self._not_before.get(address, 0.0) - self._clock()
        if ready > 0:
            await asyncio.sleep(ready)
        now = self._clock()
        # The overall slot is booked before sleeping, so concurrent senders never share one.
        at = max(now, self._next_overall)
        self._next_overall = at + self._interval * units
        if self._gap:
            self._not_before[address] = at + self._gap
        if len(self._not_before) > 10_000:  # forget addresses whose gap has long passed
            self._not_before = {a: t for a, t in self._not_before.items() if t > now}
        if at > now:
            await asyncio.sleep(at - now)
