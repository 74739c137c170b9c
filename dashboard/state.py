"""What the dashboard needs from the process: database, vault, settings, and a clock."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol, TypeVar
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session

from casework.asking import Starter
from reports.rules import RulesInForce, ScoringRules
from storage.blind_index import BlindIndex
from storage.models import utcnow
from storage.vault import Vault

T = TypeVar("T")


class SettingsLike(Protocol):
    """The settings the dashboard reads (bot.runtime.settings.Settings has them all)."""

    public_url: str
    telegram_bot_username: str | None
    quiet_hours: str
    trusted_proxies: str

    @property
    def zone(self) -> ZoneInfo: ...

    @property
    def mail_sender(self) -> str: ...

    @property
    def rules(self) -> RulesInForce: ...


class RuntimeLike(Protocol):
    """The long-lived parts of a process (bot.runtime.parts.Runtime has them all)."""

    @property
    def engine(self) -> Engine: ...

    @property
    def vault(self) -> Vault: ...

    @property
    def index(self) -> BlindIndex: ...

    @property
    def settings(self) -> SettingsLike: ...

    def goodbye(self, language: str) -> str:
        """The neutral goodbye a closed case's participants get (the bot's catalogue)."""
        ...


@dataclass
class Dashboard:
    """Per-app dashboard state; tests replace `clock` to move time instead of waiting."""

    engine: Engine
    vault: Vault
    index: BlindIndex
    settings: SettingsLike
    # The goodbye text per language, for closing a case (the runtime's, from the bot).
    goodbye: Callable[[str], str]
    clock: Callable[[], datetime] = field(default=utcnow)
    idle_timeout: timedelta = timedelta(minutes=30)
    absolute_timeout: timedelta = timedelta(hours=12)
    # The Telegram bot's username for invite links (the process's getMe); None = the setting.
    bot_username: Callable[[], Awaitable[str | None]] | None = None
    # "Ask now" starts the survey in the request's transaction with this (the process's
    # survey start); None: the sweep starts it. `wake` tells the dispatcher at once.
    starter: Starter | None = None
    wake: Callable[[], None] = field(default=lambda: None)

    @property
    def secure_cookies(self) -> bool:
        """Cookies carry `Secure` when the public address is https."""
        return self.settings.public_url.startswith("https://")

    @property
    def zone(self) -> ZoneInfo:
        """Where times are shown."""
        return self.settings.zone

    @property
    def rules(self) -> ScoringRules:
        """The alert rules in force (STEMME_RULES_FILE over the shipped ones)."""
        return self.settings.rules.rules

    def now(self) -> datetime:
        """The current time from the (injectable) clock."""
        return self.clock()

    async def telegram_username(self) -> str | None:
        """Which bot a Telegram invite link opens (None: no link, the code alone)."""
        if self.bot_username is not None:
            return await self.bot_username()
        return self.settings.telegram_bot_username

    def work(self, fn: Callable[[Session], T]) -> T:
        """Run `fn` in one transaction; commit on success, retry a lost audit-chain race.

        The audit log's unique previous-hash makes two writers that read the same tail collide;
        the loser's unit of work is simply run again (consent.audit.append says so).
        """
        for attempt in range(5):
            with Session(self.engine, expire_on_commit=False) as session:
                try:
                    result = fn(session)
                    session.commit()
                    return result
                except (IntegrityError, OperationalError):
                    session.rollback()
                    if attempt == 4:
                        raise
            time.sleep(0.02 * (attempt + 1))
        raise AssertionError("unreachable")  # pragma: no cover

    async def run(self, fn: Callable[[Session], T]) -> T:
        """`work` in a thread, so database and crypto work never block the event loop."""
        return await asyncio.to_thread(self.work, fn)


DASHBOARD = web.AppKey("dashboard", Dashboard)
