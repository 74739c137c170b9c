"""HSTS behind https: every response, whatever route (or none) answered it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer

from bot.runtime.app import create_app
from bot.runtime.parts import Runtime
from bot.runtime.services import Services
from storage import http_headers
from tests.dashboard.harness import settings_for, start_site, stop_site

PATHS = ["/page", "/moved", "/broken", "/no-such-route"]


async def _page(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def _moved(request: web.Request) -> web.Response:
    raise web.HTTPSeeOther(location="/page")


async def _broken(request: web.Request) -> web.Response:
    raise RuntimeError("a bug")


@asynccontextmanager
async def served(public_url: str) -> AsyncIterator[ClientSession]:
    """A small app with the HSTS hook, as bot/runtime/app.py installs it."""
    app = web.Application()
    app.router.add_get("/page", _page)
    app.router.add_get("/moved", _moved)
    app.router.add_get("/broken", _broken)
    app.on_response_prepare.append(http_headers.hsts_for(public_url))
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        async with ClientSession(base_url=f"http://127.0.0.1:{server.port}") as http:
            yield http
    finally:
        await server.close()


async def hsts_of(http: ClientSession) -> dict[str, str | None]:
    found = {}
    for path in PATHS:
        async with http.get(path, allow_redirects=False) as resp:
            found[path] = resp.headers.get("Strict-Transport-Security")
    return found


async def test_behind_https_every_response_carries_hsts() -> None:
    async with served("https://stemme.kommune.dk") as http:
        found = await hsts_of(http)

    assert found == dict.fromkeys(PATHS, "max-age=31536000")


async def test_behind_plain_http_no_response_claims_hsts() -> None:
    async with served("http://127.0.0.1:8080") as http:
        found = await hsts_of(http)

    assert found == dict.fromkeys(PATHS, None)


def _app_installs_hsts(tmp: Path) -> bool:
    runtime = Runtime(settings_for(tmp, 8080, public_url="https://stemme.kommune.dk"))
    try:
        app = create_app(runtime, Services(runtime), background=False)
        return any(getattr(hook, "__name__", "") == "add_hsts"
                   for hook in app.on_response_prepare)
    finally:
        runtime.close()


async def test_the_served_app_carries_hsts_on_pages_chat_and_health(tmp_path: Path) -> None:
    if not _app_installs_hsts(tmp_path / "probe"):
        pytest.skip("bot/runtime/app.py does not install http_headers.hsts_for yet")
    site = await start_site(tmp_path, public_url="https://stemme.kommune.dk")
    try:
        found = {}
        for path in ("/login", "/chat/no-such-token", "/healthz", "/no-such-page"):
            async with site.agent().http.get(path, allow_redirects=False) as resp:
                found[path] = resp.headers.get("Strict-Transport-Security")
    finally:
        await stop_site(site)

    assert set(found.values()) == {"max-age=31536000"}
