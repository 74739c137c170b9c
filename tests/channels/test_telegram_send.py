"""The Telegram adapter sending through the real PTB Bot to the fake Bot API over HTTP."""

from __future__ import annotations

import pytest

from bot.channels.base import Failed, Handler, Retry, Sent, Stop
from bot.channels.telegram.channel import TelegramChannel, keyboard_rows
from bot.flows.messages import Choice, OutgoingMessage
from tests.channels.conftest import TEST_TIMEOUT
from tests.fakes.fixtures import TELEGRAM_SECRET, TELEGRAM_TOKEN
from tests.fakes.server import Fault
from tests.fakes.telegram_api import FakeTelegramAPI

CHAT = "telegram:123456789"
SCALE = OutgoingMessage(
    text="Hvordan har du det? 0 er dårligst, 10 er bedst.",
    choices=tuple(Choice(str(n), f"outcome:me:{n}") for n in range(11)),
    layout="scale",
)


def _keyboard_data(markup: dict[str, list[list[dict[str, str]]]]) -> list[list[str]]:
    return [[button["callback_data"] for button in row] for row in markup["inline_keyboard"]]


async def test_scale_message_is_sent_with_a_two_row_keyboard(
    telegram: TelegramChannel, fake_telegram: FakeTelegramAPI
) -> None:
    result = await telegram.send(CHAT, SCALE, idempotency_key="k1")

    assert isinstance(result, Sent)
    [call] = fake_telegram.sent_messages(123456789)
    assert call.params["text"] == SCALE.text
    assert _keyboard_data(call.params["reply_markup"]) == [
        [f"outcome:me:{n}" for n in range(6)],
        [f"outcome:me:{n}" for n in range(6, 11)],
    ]
    assert result.provider_message_id == str(fake_telegram._next_message_id)


@pytest.mark.parametrize(
    ("layout", "count", "rows"),
    [("faces", 5, [5]), ("yes_no", 2, [2]), ("list", 3, [1, 1, 1]), ("scale", 11, [6, 5])],
)
def test_layouts_become_keyboard_rows(layout: str, count: int, rows: list[int]) -> None:
    message = OutgoingMessage(
        "?",
        tuple(Choice(str(n), f"d{n}") for n in range(count)),
        layout=layout,  # type: ignore[arg-type]
    )

    assert [len(row) for row in keyboard_rows(message)] == rows


async def test_message_without_choices_has_no_keyboard(
    telegram: TelegramChannel, fake_telegram: FakeTelegramAPI
) -> None:
    await telegram.send(CHAT, OutgoingMessage("Tak for dine svar!"), idempotency_key="k")

    [call] = fake_telegram.sent_messages()
    assert "reply_markup" not in call.params


async def test_rate_limit_becomes_retry_after_the_providers_wait(
    telegram: TelegramChannel, fake_telegram: FakeTelegramAPI
) -> None:
    fake_telegram.inject(Fault.rate_limited(retry_after=7))

    result = await telegram.send(CHAT, SCALE, idempotency_key="k")

    assert result == Retry(after_seconds=7.0, reason="rate_limited")


async def test_blocked_bot_becomes_stop(
    telegram: TelegramChannel, fake_telegram: FakeTelegramAPI
) -> None:
    fake_telegram.inject(Fault.blocked(), target=123456789)

    result = await telegram.send(CHAT, SCALE, idempotency_key="k")

    assert result == Stop(reason="blocked")


async def test_hanging_api_becomes_retry_after_the_timeout(
    telegram: TelegramChannel, fake_telegram: FakeTelegramAPI
) -> None:
    fake_telegram.inject(Fault.hang())

    result = await telegram.send(CHAT, SCALE, idempotency_key="k")

    assert isinstance(result, Retry)
    assert result.reason == "timeout"


async def test_server_error_becomes_retry(
    telegram: TelegramChannel, fake_telegram: FakeTelegramAPI
) -> None:
    fake_telegram.inject(Fault.server_error())

    result = await telegram.send(CHAT, SCALE, idempotency_key="k")

    assert isinstance(result, Retry)
    assert result.reason == "network"


async def test_bad_request_becomes_failed(
    telegram: TelegramChannel, fake_telegram: FakeTelegramAPI
) -> None:
    fake_telegram.inject(Fault.bad_request("chat not found"))

    result = await telegram.send(CHAT, SCALE, idempotency_key="k")

    assert result == Failed(reason="bad_request")


async def test_fault_for_one_chat_leaves_other_chats_alone(
    telegram: TelegramChannel, fake_telegram: FakeTelegramAPI
) -> None:
    fake_telegram.inject(Fault.blocked(), target=111, times=None)

    other = await telegram.send("telegram:222", SCALE, idempotency_key="a")
    blocked = await telegram.send("telegram:111", SCALE, idempotency_key="b")

    assert isinstance(other, Sent)
    assert blocked == Stop(reason="blocked")


@pytest.mark.parametrize(
    ("address", "message", "reason"),
    [
        ("tel:+4512345678", SCALE, "invalid_address"),
        ("telegram:abc", SCALE, "invalid_address"),
        (CHAT, OutgoingMessage("?", (Choice("x", "y" * 65),), layout="list"), "invalid_message"),
        (CHAT, OutgoingMessage("   "), "empty_message"),
    ],
)
async def test_unsendable_messages_fail_without_calling_telegram(
    telegram: TelegramChannel,
    fake_telegram: FakeTelegramAPI,
    address: str,
    message: OutgoingMessage,
    reason: str,
) -> None:
    result = await telegram.send(address, message, idempotency_key="k")

    assert result == Failed(reason=reason)
    assert fake_telegram.calls("sendMessage") == []


async def test_long_text_is_sent_in_parts_with_the_keyboard_on_the_last(
    telegram: TelegramChannel, fake_telegram: FakeTelegramAPI
) -> None:
    paragraph = ("Det her er en lang sætning om hvordan det går. " * 40).strip()
    long_scale = OutgoingMessage(
        "\n\n".join([paragraph] * 4), SCALE.choices, layout="scale"
    )  # about 7,500 characters

    result = await telegram.send(CHAT, long_scale, idempotency_key="k")

    calls = fake_telegram.sent_messages()
    assert isinstance(result, Sent)
    assert len(calls) == 2 == len(result.part_ids)
    assert all(len(c.params["text"]) <= 4096 for c in calls)
    assert "reply_markup" not in calls[0].params
    assert "reply_markup" in calls[1].params
    assert result.provider_message_id == result.part_ids[-1]


async def test_answering_a_callback_and_removing_the_keyboard(
    telegram: TelegramChannel, fake_telegram: FakeTelegramAPI
) -> None:
    answered = await telegram.answer_callback_query("4382bfdwdsf43")
    removed = await telegram.remove_keyboard(CHAT, "100")

    assert isinstance(answered, Sent)
    assert isinstance(removed, Sent)
    [answer] = fake_telegram.calls("answerCallbackQuery")
    [edit] = fake_telegram.calls("editMessageReplyMarkup")
    assert answer.params["callback_query_id"] == "4382bfdwdsf43"
    assert (edit.params["chat_id"], edit.params["message_id"]) == ("123456789", "100")
    assert "reply_markup" not in edit.params


async def test_removing_an_already_removed_keyboard_is_not_an_error(
    telegram: TelegramChannel, fake_telegram: FakeTelegramAPI
) -> None:
    fake_telegram.inject(
        Fault.bad_request("message is not modified"), name="editMessageReplyMarkup"
    )

    result = await telegram.remove_keyboard(CHAT, "100")

    assert result == Sent(provider_message_id="100")


async def test_set_webhook_registers_url_and_secret(
    telegram: TelegramChannel, fake_telegram: FakeTelegramAPI
) -> None:
    await telegram.set_webhook("https://stemme.example.org/webhooks/telegram")

    assert fake_telegram.webhook_url == "https://stemme.example.org/webhooks/telegram"
    assert fake_telegram.webhook_secret == TELEGRAM_SECRET
    [call] = fake_telegram.calls("setWebhook")
    assert call.params["allowed_updates"] == ["message", "callback_query", "my_chat_member"]

    await telegram.delete_webhook()

    assert fake_telegram.webhook_url is None


async def test_wrong_token_fails_instead_of_retrying(fake_telegram: FakeTelegramAPI) -> None:
    channel = TelegramChannel(
        token="1:wrong", webhook_secret="s", api_url=fake_telegram.url, timeout=TEST_TIMEOUT
    )

    result = await channel.send(CHAT, SCALE, idempotency_key="k")
    await channel.close()

    assert result == Failed(reason="invalid_token")


async def test_telegram_channel_is_a_handler(fake_telegram: FakeTelegramAPI) -> None:
    channel: Handler = TelegramChannel(
        token=TELEGRAM_TOKEN, webhook_secret=TELEGRAM_SECRET, api_url=fake_telegram.url
    )

    assert channel.name == "telegram"
    assert channel.info.capabilities.buttons
    assert channel.info.per_address_per_second == 1.0
    await channel.close()
