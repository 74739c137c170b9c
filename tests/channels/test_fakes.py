"""The fake provider servers themselves: rate measurement, limits, updates and webhooks."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiohttp import web

from bot.channels.base import Retry, Sent
from bot.channels.telegram.channel import TelegramChannel
from bot.flows.messages import OutgoingMessage
from tests.channels.conftest import TEST_TIMEOUT
from tests.fakes.fixtures import TELEGRAM_SECRET, TELEGRAM_TOKEN
from tests.fakes.server import Fault, max_in_window
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.webhooks import telegram_update

HELLO = OutgoingMessage("Hej")


@pytest.mark.parametrize(
    ("times", "expected"),
    [
        ([], 0),
        ([0.0], 1),
        ([0.0, 0.5, 0.99, 1.0, 1.5], 3),
        ([0.0, 1.0, 2.0], 1),
        ([0.3, 0.1, 0.2], 3),
    ],
)
def test_max_in_window_counts_a_sliding_second(times: list[float], expected: int) -> None:
    assert max_in_window(times) == expected


async def test_rates_are_measured_overall_and_per_chat(
    telegram: TelegramChannel, fake_telegram: FakeTelegramAPI
) -> None:
    await asyncio.gather(
        *(telegram.send(f"telegram:{n}", HELLO, idempotency_key=str(n)) for n in range(10))
    )
    await telegram.send("telegram:0", HELLO, idempotency_key="again")

    assert fake_telegram.max_rate("sendMessage") == 11
    assert fake_telegram.max_rate("sendMessage", target=0) == 2
    assert fake_telegram.max_rate("sendMessage", target=1) == 1


async def test_enforced_limit_answers_429_for_a_fourth_message_within_three_seconds() -> None:
    async with (
        FakeTelegramAPI(TELEGRAM_TOKEN, enforce_limits=True) as fake,
        TelegramChannel(
            token=TELEGRAM_TOKEN,
            webhook_secret=TELEGRAM_SECRET,
            api_url=fake.url,
            timeout=TEST_TIMEOUT,
        ) as channel,
    ):
        burst = [await channel.send("telegram:5", HELLO, idempotency_key=k) for k in "abc"]
        fourth = await channel.send("telegram:5", HELLO, idempotency_key="d")
        other_chat = await channel.send("telegram:6", HELLO, idempotency_key="e")

    assert all(isinstance(result, Sent) for result in burst)  # a short burst is taken
    assert fourth == Retry(after_seconds=1.0, reason="rate_limited")
    assert isinstance(other_chat, Sent)
    assert len(fake.sent_messages()) == 4


async def test_fault_for_n_requests_then_healthy(
    telegram: TelegramChannel, fake_telegram: FakeTelegramAPI
) -> None:
    fake_telegram.inject(Fault.server_error(), times=2)

    results = [await telegram.send("telegram:1", HELLO, idempotency_key=str(n)) for n in range(3)]

    assert [r.outcome for r in results] == ["retry", "retry", "sent"]
    assert [r.fault for r in fake_telegram.calls("sendMessage")] == [
        "server_error",
        "server_error",
        None,
    ]


async def test_get_updates_returns_queued_updates_until_confirmed(
    telegram: TelegramChannel, fake_telegram: FakeTelegramAPI
) -> None:
    fake_telegram.queue_update(telegram_update("update_message"))

    first = await telegram.bot.get_updates(timeout=0)
    confirmed = await telegram.bot.get_updates(offset=first[0].update_id + 1, timeout=0)

    assert [u.update_id for u in first] == [524876123]
    assert first[0].message is not None and first[0].message.text == "Jeg har det okay i dag"
    assert confirmed == ()


async def test_deliver_update_posts_to_the_webhook_with_the_secret(
    telegram: TelegramChannel, fake_telegram: FakeTelegramAPI
) -> None:
    seen: list[tuple[str | None, dict[str, object]]] = []

    async def route(request: web.Request) -> web.Response:
        seen.append((request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json()))
        return web.Response()

    app = web.Application()
    app.router.add_post("/webhooks/telegram", route)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        await telegram.set_webhook(f"http://{host}:{port}/webhooks/telegram")
        status = await fake_telegram.deliver_update(telegram_update("update_start"))
    finally:
        await runner.cleanup()

    assert status == 200
    assert seen == [(TELEGRAM_SECRET, json.loads(json.dumps(telegram_update("update_start"))))]
