"""Shared machinery of the fake provider servers: lifecycle, request recording, fault plans."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Self

from aiohttp import web

FaultKind = Literal["rate_limited", "server_error", "blocked", "opted_out", "bad_request", "hang"]


@dataclass(frozen=True, slots=True)
class Fault:
    """One way a provider can misbehave; each fake renders it in its own API's shape."""

    kind: FaultKind
    retry_after: int = 1  # rate_limited: seconds the provider asks us to wait
    description: str = ""  # bad_request: the provider's message
    hang_seconds: float = 30.0  # hang: how long to stall (released early when the fake stops)

    @classmethod
    def rate_limited(cls, retry_after: int = 1) -> Fault:
        """HTTP 429 (Telegram: with parameters.retry_after)."""
        return cls("rate_limited", retry_after=retry_after)

    @classmethod
    def server_error(cls) -> Fault:
        """HTTP 500."""
        return cls("server_error")

    @classmethod
    def blocked(cls) -> Fault:
        """Telegram 403 "Forbidden: bot was blocked by the user"."""
        return cls("blocked")

    @classmethod
    def opted_out(cls) -> Fault:
        """Twilio 400 with error code 21610."""
        return cls("opted_out")

    @classmethod
    def bad_request(cls, description: str = "") -> Fault:
        """HTTP 400 with the provider's error body."""
        return cls("bad_request", description=description)

    @classmethod
    def hang(cls, seconds: float = 30.0) -> Fault:
        """Accept the request and answer nothing for `seconds`, so the client times out."""
        return cls("hang", hang_seconds=seconds)


@dataclass(slots=True)
class _Rule:
    fault: Fault
    remaining: int | None  # None: until cleared
    target: str | None  # chat id / phone number; None: any
    name: str | None  # API method (sendMessage) / resource (Messages); None: any


@dataclass(slots=True)
class Recorded:
    """One request a fake received, with what it answered."""

    http_method: str
    path: str
    name: str  # Telegram method ("sendMessage") or Twilio resource ("Messages")
    params: dict[str, Any]
    target: str | None  # chat_id / To, when the request has one
    at: float  # time.monotonic(), for rate measurements
    received_at: datetime
    status: int = 0  # HTTP status answered; 0 while hanging
    fault: FaultKind | None = None


def max_in_window(times: list[float], window: float = 1.0) -> int:
    """The largest number of timestamps inside any half-open window of `window` seconds."""
    ordered = sorted(times)
    best = start = 0
    for end, moment in enumerate(ordered):
        while moment - ordered[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


class FakeServer:
    """An aiohttp server on 127.0.0.1 with a free port; use `async with` or start()/stop()."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.url = ""
        self._rules: list[_Rule] = []
        self._runner: web.AppRunner | None = None
        self._release = asyncio.Event()

    def _add_routes(self, app: web.Application) -> None:
        raise NotImplementedError

    async def start(self) -> Self:
        """Listen on a free port; `url` is set afterwards."""
        app = web.Application()
        self._add_routes(app)
        # A short shutdown timeout: a hanging handler must not hold the test run for 60 s.
        runner = web.AppRunner(app, shutdown_timeout=0.5, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        self._runner = runner
        return self

    async def stop(self) -> None:
        """Release hanging requests and close the server."""
        self._release.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # -- faults -------------------------------------------------------------------------------

    def inject(
        self,
        fault: Fault,
        *,
        times: int | None = 1,
        target: str | int | None = None,
        name: str | None = None,
    ) -> None:
        """Answer the next `times` matching requests (None: all until cleared) with `fault`.

        `target` narrows it to one chat id / phone number, `name` to one API method (each
        fake defaults `name` to its sending call, so set-up calls such as getMe stay healthy).
        """
        self._rules.append(_Rule(fault, times, None if target is None else str(target), name))

    def clear_faults(self) -> None:
        """Forget every injected fault."""
        self._rules.clear()

    def _take_fault(self, name: str, target: str | None) -> Fault | None:
        for rule in self._rules:
            if rule.name is not None and rule.name != name:
                continue
            if rule.target is not None and rule.target != target:
                continue
            if rule.remaining is not None:
                rule.remaining -= 1
                if rule.remaining <= 0:
                    self._rules.remove(rule)
            return rule.fault
        return None

    async def _hang(self, fault: Fault) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._release.wait(), timeout=fault.hang_seconds)

    # -- recordings ---------------------------------------------------------------------------

    def _record(
        self, request: web.Request, name: str, params: dict[str, Any], target: str | None
    ) -> Recorded:
        entry = Recorded(
            http_method=request.method,
            path=request.path,
            name=name,
            params=params,
            target=target,
            at=time.monotonic(),
            received_at=datetime.now(UTC),
        )
        self.requests.append(entry)
        return entry

    def calls(self, name: str | None = None, *, target: str | int | None = None) -> list[Recorded]:
        """Recorded requests, optionally only one API method and/or one chat / number."""
        wanted = None if target is None else str(target)
        return [
            r
            for r in self.requests
            if (name is None or r.name == name) and (wanted is None or r.target == wanted)
        ]

    def max_rate(
        self, name: str | None = None, *, target: str | int | None = None, window: float = 1.0
    ) -> int:
        """Most requests seen in any `window` seconds (overall, or for one chat / number)."""
        return max_in_window([r.at for r in self.calls(name, target=target)], window)
