"""Development without a public URL: long polling stores and answers like the webhook."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.channels.telegram.polling import poll
from storage.models import InboxMessage
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.twilio_api import FakeTwilioAPI
from tests.fakes.webhooks import telegram_update
from tests.pipeline.harness import start_stemme, until


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_child_links_by_deep_link_over_long_polling(
    tmp_path: Path, db_url: str, fake_telegram: FakeTelegramAPI, fake_twilio: FakeTwilioAPI
) -> None:
    stemme = await start_stemme(tmp_path, db_url, fake_telegram, fake_twilio)
    try:
        stemme.make_case()
        _, token = stemme.add("child", "telegram")
        fake_telegram.queue_update(telegram_update("update_start", update_id=31,
                                                   text=f"/start {token}", chat_id=606))
        stop = asyncio.Event()
        task = asyncio.create_task(poll(stemme.services.channels.get("telegram"),
                                        stemme.services.intake, stop, timeout=1))
        await until(lambda: stemme.count(InboxMessage) == 1)
        await stemme.settle()
        stop.set()
        await asyncio.wait_for(task, 10)
        assert len(fake_telegram.calls("deleteWebhook")) == 1
        assert fake_telegram.sent_messages(606), "the child got the first question"
    finally:
        await stemme.client.close()
        stemme.rt.close()
