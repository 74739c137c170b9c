"""The aiohttp application: wires storage, channels and the dashboard into one web app."""

from __future__ import annotations

import asyncio
import time

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, Info, generate_latest

from bot.runtime import Runtime
from storage.db import DatabaseUnavailable, ping

RUNTIME = web.AppKey("runtime", Runtime)
REGISTRY = web.AppKey("registry", CollectorRegistry)
STARTED = web.AppKey("started", float)
VERSION = "0.1.0"


async def healthz(request: web.Request) -> web.Response:
    """200 with {"status": "ok"} when the database answers, else 503."""
    runtime = request.app[RUNTIME]
    try:
        await asyncio.to_thread(ping, runtime.engine)
    except DatabaseUnavailable:
        return web.json_response({"status": "unavailable", "database": "down"}, status=503)
    return web.json_response({
        "status": "ok",
        "database": runtime.engine.dialect.name,
        "version": VERSION,
        "uptime_seconds": round(time.monotonic() - request.app[STARTED], 1),
        "channels": {
            "telegram": runtime.settings.telegram_enabled,
            "sms": runtime.settings.twilio_enabled,
            "webchat": True,
        },
    })


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text exposition of this process's metrics."""
    body = generate_latest(request.app[REGISTRY])
    resp = web.Response(body=body)
    resp.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return resp


def build_registry() -> CollectorRegistry:
    """A registry per app, so tests can build several apps in one process."""
    registry = CollectorRegistry()
    Info("stemme", "Stemme build information", registry=registry).info({"version": VERSION})
    Gauge("stemme_up", "1 while the process serves", registry=registry).set(1)
    return registry


def create_app(runtime: Runtime) -> web.Application:
    """The web application for one process."""
    app = web.Application(client_max_size=1024 * 1024)
    app[RUNTIME] = runtime
    app[REGISTRY] = build_registry()
    app[STARTED] = time.monotonic()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    return app
