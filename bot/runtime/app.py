"""The aiohttp application: wires storage, channels and the dashboard into one web app."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from bot.channels.telegram.channel import TelegramChannel
from bot.channels.telegram.username import BotUsername
from bot.channels.webchat import page as webchat_page
from bot.runtime.logs import access_log
from bot.runtime.metrics import VERSION
from bot.runtime.parts import Runtime
from bot.runtime.services import Services
from dashboard import routes as dashboard_routes
from storage import http_headers
from storage.db import DatabaseUnavailable, ping

RUNTIME = web.AppKey("runtime", Runtime)
REGISTRY = web.AppKey("registry", CollectorRegistry)
STARTED = web.AppKey("started", float)


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
    """Prometheus text exposition of this process's metrics (backlogs read from the database,
    so in a thread)."""
    body = await asyncio.to_thread(generate_latest, request.app[REGISTRY])
    resp = web.Response(body=body)
    resp.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return resp


def create_app(runtime: Runtime, services: Services | None = None,
               *, background: bool = True) -> web.Application:
    """The web application for one process; `background` runs the sweep and dispatcher."""
    app = web.Application(client_max_size=1024 * 1024, middlewares=[access_log])
    services = services or Services(runtime)
    app[RUNTIME] = runtime
    app[REGISTRY] = services.metrics.registry
    app[STARTED] = time.monotonic()
    # Behind an https public URL every response says: never come back over plain http.
    app.on_response_prepare.append(http_headers.hsts_for(runtime.settings.public_url))
    app[webchat_page.ENGINE] = runtime.engine
    app[webchat_page.VAULT] = runtime.vault
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    for channel in services.channels.values():  # each channel brings its own routes
        app.add_routes(channel.routes(services.intake))
    telegram = services.channels.get("telegram")
    dashboard_routes.add_routes(app, runtime, bot_username=BotUsername(
        runtime.settings, telegram if isinstance(telegram, TelegramChannel) else None),
        starter=services.starter, wake=services.dispatcher.wake.set)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        await (services.start() if background else services.open())
        yield
        await services.intake.drain()  # acknowledged messages finish processing first
        await (services.stop() if background else services.close())

    app.cleanup_ctx.append(lifecycle)
    return app
