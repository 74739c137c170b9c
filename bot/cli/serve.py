"""`stemme serve`: one process serving webhooks, dashboard and API until told to stop."""

from __future__ import annotations

import asyncio
import contextlib
import signal

from aiohttp import web

from bot.channels.telegram.polling import poll
from bot.cli.output import CommandError, Output
from bot.runtime.app import create_app
from bot.runtime.parts import Runtime
from bot.runtime.services import Services
from storage import migrate


async def serve(rt: Runtime, host: str, port: int, out: Output, *,
                telegram_polling: bool = False) -> None:
    """Run the web app until SIGINT/SIGTERM (and poll Telegram when asked)."""
    if migrate.current_revision(rt.engine) != migrate.head_revision():
        raise CommandError("the database schema is not up to date; run: stemme migrate")
    rt.keys  # noqa: B018  (fail now, not on the first request, if the key file is unreadable)
    if telegram_polling and not rt.settings.telegram_enabled:
        raise CommandError("--telegram-polling needs STEMME_TELEGRAM_TOKEN (and a webhook "
                           "secret, which polling does not use but the settings require)")
    services = Services(rt)
    app = create_app(rt, services)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise CommandError(f"cannot listen on {host}:{port} ({exc.strerror}); is another "
                           "Stemme running? choose another --port") from None
    url = f"http://{host}:{port}"
    out.result({"ok": True, "status": "serving", "url": url, "healthz": f"{url}/healthz"},
               f"Stemme serving on {url} (Ctrl+C stops)")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    poller = asyncio.create_task(poll(services.channels.get("telegram"), services.intake,
                                      stop)) if telegram_polling else None
    try:
        await stop.wait()
    finally:
        if poller is not None:
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poller
        await runner.cleanup()
