"""Send pacing per channel: even overall slots, and a short burst allowance per address."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

# Pace a little under the provider's limit: network jitter can bunch requests that left on
# time, and a provider counting 31 in a second answers 429.
SAFETY = 0.9
MINUTE = 60.0


class Pacer:
    """At most `rate` units/s overall; to any one address at most `burst` messages in any
    `burst / per_address` seconds and `per_address` a second over a minute.

    Telegram lets a chat take a short burst (a greeting and its question arrive together)
    but not more than about one message a second over time. Senders for one address must
    await `wait` one at a time (the dispatcher sends each address's messages in order);
    senders for different addresses may await it concurrently.
    """

    def __init__(self, rate: float | None, per_address: float | None = None, burst: int = 1,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._interval = 1.0 / (rate * SAFETY) if rate else 0.0
        self._burst = max(1, burst)
        # The burst window: `burst` sends, then the oldest of them must be this long ago.
        self._window = self._burst / (per_address * SAFETY) if per_address else 0.0
        self._per_minute = max(self._burst, int(MINUTE * per_address)) if per_address else 0
        self._clock = clock
        self._next_overall = 0.0
        self._not_before: dict[str, float] = {}
        self._sent: dict[str, deque[float]] = {}  # an address's booked send times, a minute

    def push_back(self, address: str, seconds: float) -> None:
        """The provider said "retry after": hold this address back at least that long."""
        until = self._clock() + seconds
        self._not_before[address] = max(self._not_before.get(address, 0.0), until)

    def ready_at(self, address: str) -> float:
        """The earliest clock time a message to `address` may go (without booking it)."""
        at = max(self._clock(), self._not_before.get(address, 0.0))
        times = self._sent.get(address)
        if times and self._window:
            if len(times) >= self._burst:
                at = max(at, times[-self._burst] + self._window)
            if len(times) >= self._per_minute:
                at = max(at, times[-self._per_minute] + MINUTE)
        return at

    def held(self, longer_than: float) -> set[str]:
        """Addresses that may not be sent to for more than `longer_than` seconds from now."""
        now = self._clock()
        known = {*self._sent, *self._not_before}
        return {a for a in known if self.ready_at(a) - now > longer_than}

    async def wait(self, address: str, units: int = 1) -> None:
        """Sleep until this address may be sent to again and an overall slot is free."""
        now = self._clock()
        at = self.ready_at(address)
        if at > now:  # the address first: its slot decides, then an overall one is booked
            await asyncio.sleep(at - now)
            now = self._clock()
        # The overall slot is booked before sleeping, so concurrent senders never share one.
        at = max(now, self._next_overall)
        self._next_overall = at + self._interval * units
        if self._window:
            times = self._sent.setdefault(address, deque())
            times.append(at)
            while times and times[0] <= at - MINUTE:
                times.popleft()
        if len(self._sent) > 10_000 or len(self._not_before) > 10_000:
            self._forget(now)
        if at > now:
            await asyncio.sleep(at - now)

    def _forget(self, now: float) -> None:
        """Drop addresses nothing was sent to for a minute (and whose hold has passed)."""
        self._sent = {a: t for a, t in self._sent.items() if t and t[-1] > now - MINUTE}
        self._not_before = {a: t for a, t in self._not_before.items() if t > now}
