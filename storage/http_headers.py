"""The security headers of the service's web pages, shared by the dashboard and the web chat.

It lives here, not in `dashboard/` or `bot/`, because both import `storage` and neither may
import the other; it needs no aiohttp, only something with mutable `headers`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Protocol

HSTS = "max-age=31536000"  # a year; no includeSubDomains: the domain may host other sites


class HasHeaders(Protocol):
    """A response: aiohttp's `StreamResponse` and its subclasses."""

    @property
    def headers(self) -> MutableMapping[str, str]: ...


def strict(headers: MutableMapping[str, str], *, csp: str) -> None:
    """A page's own policy, no MIME sniffing, no referrer, no caching, and no framing."""
    headers["Content-Security-Policy"] = csp
    headers["X-Content-Type-Options"] = "nosniff"
    # Web-chat URLs carry the participant's secret and dashboard URLs name cases.
    headers["Referrer-Policy"] = "no-referrer"
    headers["Cache-Control"] = "no-store"
    if "frame-ancestors 'none'" in csp:
        headers["X-Frame-Options"] = "DENY"  # for browsers older than frame-ancestors


def hsts_for(public_url: str) -> Callable[[object, HasHeaders], Awaitable[None]]:
    """An `on_response_prepare` hook adding HSTS to every response when served over https."""
    https = public_url.lower().startswith("https://")

    async def add_hsts(request: object, response: HasHeaders) -> None:
        # Behind http (a local demo) HSTS would be ignored by browsers anyway; leave it out.
        if https:
            response.headers["Strict-Transport-Security"] = HSTS

    return add_hsts
