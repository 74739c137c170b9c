"""`stemme serve`: one process serving webhooks, dashboard and API until told to stop."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path

from aiohttp import web
from sqlmodel import Session

from bot.channels.telegram.polling import poll
from bot.cli import demo
from bot.cli.output import CommandError, Output
from bot.flows.instruments import InstrumentError, load_instruments_uncached
from bot.flows.safety import Lexicon
from bot.runtime.app import create_app
from bot.runtime.logs import configure_from
from bot.runtime.parts import Runtime
from bot.runtime.services import Services
from bot.runtime.settings import Settings
from storage import migrate


class ConfigurationError(CommandError):
    """A setting names a file or folder that cannot be used; `serve` exits with 2."""

    exit_code = 2


def _one_line(detail: object) -> str:
    return " ".join(str(detail).split())  # however TOML or the OS words it


def _check_text_packs(folder: Path) -> None:
    where = f"STEMME_TEXT_PACKS_DIR {folder}"
    if not folder.is_dir():
        raise ConfigurationError(f"{where} is not a folder: create it with the organisation's "
                                 "text packs, or unset it to use the shipped wording")
    try:
        load_instruments_uncached(folder)
    except (InstrumentError, OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"{where}: {_one_line(exc)}; fix that pack, or unset "
                                 "STEMME_TEXT_PACKS_DIR to use the shipped wording") from None


def _check_lexicon(path: Path) -> None:
    where = f"STEMME_RISK_LEXICON_FILE {path}"
    advice = "fix the file, or unset STEMME_RISK_LEXICON_FILE to use the shipped lexicon"
    if not path.is_file():
        raise ConfigurationError(f"{where} does not exist; {advice}")
    try:
        lexicon = Lexicon.from_toml(path.read_text(encoding="utf-8"))
    except KeyError as exc:
        raise ConfigurationError(
            f"{where}: {exc.args[0]!r} is missing or unknown (every [[terms]] needs category, "
            f"term and patterns; every @macro must be under [macros]); {advice}") from None
    except (ValueError, TypeError, AttributeError, OSError) as exc:  # TOML errors too
        raise ConfigurationError(f"{where}: {_one_line(exc)}; {advice}") from None
    if not lexicon.categories:  # a lexicon that matches nothing would hide every risk
        raise ConfigurationError(f"{where} has no [[terms]]; {advice}")


def check_configured_files(settings: Settings) -> None:
    """The files and folders settings name load, or one line names the setting (exit 2).

    STEMME_RULES_FILE is checked when the settings are read, for every command.
    """
    if settings.text_packs_dir is not None:
        _check_text_packs(settings.text_packs_dir)
    if settings.risk_lexicon_file is not None:
        _check_lexicon(settings.risk_lexicon_file)


async def serve(rt: Runtime, host: str, port: int, out: Output, *,
                telegram_polling: bool = False) -> None:
    """Run the web app until SIGINT/SIGTERM (and poll Telegram when asked)."""
    check_configured_files(rt.settings)
    if migrate.current_revision(rt.engine) != migrate.head_revision():
        raise CommandError("the database schema is not up to date; run: stemme migrate")
    rt.keys  # noqa: B018  (fail now, not on the first request, if the key file is unreadable)
    if telegram_polling and not rt.settings.telegram_enabled:
        raise CommandError("--telegram-polling needs STEMME_TELEGRAM_TOKEN (and a webhook "
                           "secret, which polling does not use but the settings require)")
    if not demo.loopback(host):
        with Session(rt.engine) as session:
            exposed = demo.published_logins(session)
        if exposed:
            raise CommandError(f"{', '.join(exposed)} still sign in with the demo's published "
                               f"password; serving on {host} would publish them: set new "
                               "passwords or deactivate them first")
    configure_from(rt.settings)  # from here on, logs carry no personal data
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
