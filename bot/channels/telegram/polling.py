"""Long polling for development without a public URL: getUpdates instead of the webhook.

The same rule as the webhook holds: an update is stored in the inbox (committed) before the
next getUpdates call confirms it to Telegram with a higher offset.
"""

from __future__ import annotations

import asyncio

import structlog
from telegram.error import NetworkError, TelegramError

from bot.channels.base import Handler, Intake
from bot.channels.telegram.channel import TelegramChannel
from bot.channels.telegram.updates import parse_update
from storage.models import utcnow

log = structlog.get_logger("stemme.polling")


async def poll(channel: Handler | None, intake: Intake, stop: asyncio.Event, *,
               timeout: int = 25) -> None:
    """Fetch updates until `stop` is set; each batch is stored, then processed."""
    if not isinstance(channel, TelegramChannel):
        raise RuntimeError("--telegram-polling needs STEMME_TELEGRAM_TOKEN")
    await channel.delete_webhook()  # Telegram refuses getUpdates while a webhook is set
    offset: int | None = None
    while not stop.is_set():
        began = asyncio.get_running_loop().time()
        try:
            updates = await channel.bot.get_updates(offset=offset, timeout=timeout,
                                                    allowed_updates=["message", "callback_query",
                                                                     "my_chat_member"])
        except (NetworkError, TelegramError) as exc:
            log.warning("getUpdates failed; retrying", error=exc.__class__.__name__)
            await asyncio.sleep(2)
            continue
        if not updates:
            # Telegram holds an empty poll for `timeout` seconds; anything quicker is a proxy
            # or a fake answering at once, and must not become a busy loop.
            if asyncio.get_running_loop().time() - began < 1:
                await asyncio.sleep(1)
            continue
        inbounds = []
        for update in updates:
            inbounds += parse_update(update.to_dict(), received_at=utcnow())
        await intake.accept(inbounds)  # returns after the commit, processing goes on
        offset = max(u.update_id for u in updates) + 1  # so confirmed only after the commit
