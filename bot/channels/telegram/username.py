"""The Telegram bot's username for invite links: from getMe, kept; the setting overrides."""

from __future__ import annotations

import asyncio
from typing import Protocol

from telegram.error import TelegramError

from bot.channels.telegram.channel import TelegramChannel


class TelegramSettings(Protocol):
    """The settings a username look-up reads (the process's settings have them)."""

    telegram_bot_username: str | None
    telegram_token: str | None
    telegram_webhook_secret: str | None
    telegram_api_url: str


class BotUsername:
    """Answers "which bot do t.me links open?" once per process.

    `STEMME_TELEGRAM_BOT_USERNAME` wins when set. Otherwise the Bot API's getMe says it,
    through the process's own Telegram channel when it has one (which asked at start), or a
    short-lived one. None while Telegram is off or the Bot API does not answer (the caller
    says so: a command's output is one JSON object, so nothing is logged here); a failure is
    not kept, so the next invite asks again.
    """

    def __init__(self, settings: TelegramSettings, channel: TelegramChannel | None = None) -> None:
        self._settings = settings
        self._channel = channel
        self._known: str | None = None

    async def __call__(self) -> str | None:
        """The username without the @, or None."""
        s = self._settings
        if s.telegram_bot_username:
            return s.telegram_bot_username.lstrip("@")
        if self._known or not (s.telegram_token and s.telegram_webhook_secret):
            return self._known
        channel = self._channel or TelegramChannel(
            token=s.telegram_token, webhook_secret=s.telegram_webhook_secret,
            api_url=s.telegram_api_url)
        try:
            self._known = await channel.username()
        except (TelegramError, OSError, TimeoutError):
            pass  # no link this time; the code alone is still printed
        finally:
            if channel is not self._channel:
                await channel.close()
        return self._known


def bot_username_now(settings: TelegramSettings) -> str | None:
    """`BotUsername` for a command: one getMe (when needed) in its own event loop."""
    return asyncio.run(BotUsername(settings)())
