"""Telegram webhook verification and Update parsing, table-driven over recorded payloads."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.channels.base import ForgedRequest, Inbound, MalformedRequest
from bot.channels.telegram.channel import TelegramChannel
from tests.fakes.fixtures import TELEGRAM_SECRET, TELEGRAM_TOKEN
from tests.fakes.webhooks import telegram_request, telegram_update

NOW = datetime(2026, 11, 20, 15, 10, tzinfo=UTC)
PATH = "/webhooks/telegram"


@pytest.fixture
async def channel() -> AsyncIterator[TelegramChannel]:
    # Parsing never touches the network, so no fake server is needed here.
    adapter = TelegramChannel(
        token=TELEGRAM_TOKEN, webhook_secret=TELEGRAM_SECRET, clock=lambda: NOW
    )
    yield adapter
    await adapter.close()


def _one(inbound: list[Inbound]) -> Inbound:
    assert len(inbound) == 1
    return inbound[0]


PARSE_CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "text message",
        telegram_update("update_message"),
        {"kind": "text", "text": "Jeg har det okay i dag", "provider_id": "524876123"},
    ),
    (
        "start with a valid token",
        telegram_update("update_start"),
        {"kind": "command_start", "command": "start", "start_token": "abc_DEF-123"},
    ),
    (
        "start addressed to the bot by name",
        telegram_update("update_start", text="/start@stemme_test_bot tok-1"),
        {"kind": "command_start", "start_token": "tok-1"},
    ),
    (
        "start with a token that is too long",
        telegram_update("update_start", text="/start " + "a" * 65),
        {"kind": "command_start", "start_token": None},
    ),
    (
        "start with bad characters",
        telegram_update("update_start", text="/start abc$def"),
        {"kind": "command_start", "start_token": None},
    ),
    (
        "start with two words",
        telegram_update("update_start", text="/start abc def"),
        {"kind": "command_start", "start_token": None},
    ),
    (
        "bare start",
        telegram_update("update_start", text="/start"),
        {"kind": "command_start", "start_token": None},
    ),
    (
        "stop command",
        telegram_update("update_message", text="/stop"),
        {"kind": "command", "command": "stop", "text": "/stop"},
    ),
    (
        "help command",
        telegram_update("update_message", text="/HELP"),
        {"kind": "command", "command": "help"},
    ),
    (
        "STOP as text",
        telegram_update("update_message", text="STOP"),
        {"kind": "text", "text": "STOP", "command": None},
    ),
    (
        "callback query",
        telegram_update("update_callback_query"),
        {
            "kind": "button",
            "button_data": "outcome:me:7",
            "callback_query_id": "4382bfdwdsf43",
            "prompt_message_id": "100",
            "provider_id": "524876124",
        },
    ),
    (
        "photo",
        telegram_update("update_photo"),
        {"kind": "unsupported", "text": ""},
    ),
    (
        "bot blocked",
        telegram_update("update_my_chat_member_kicked"),
        {"kind": "blocked"},
    ),
    (
        "bot unblocked",
        telegram_update("update_my_chat_member_member"),
        {"kind": "unblocked", "provider_id": "524876131"},
    ),
]


@pytest.mark.parametrize(
    ("update", "expected"),
    [pytest.param(u, e, id=name) for name, u, e in PARSE_CASES],
)
async def test_recorded_updates_parse_to_inbound(
    channel: TelegramChannel, update: dict[str, Any], expected: dict[str, Any]
) -> None:
    headers, body = telegram_request(update, TELEGRAM_SECRET)

    inbound = _one(await channel.verify_and_parse(headers, body, PATH))

    assert inbound.provider == "telegram"
    assert inbound.address == "telegram:123456789"
    assert inbound.received_at == NOW
    for field, value in expected.items():
        assert getattr(inbound, field) == value, field


@pytest.mark.parametrize(
    "update",
    [
        pytest.param(telegram_update("update_edited_message"), id="edited message"),
        pytest.param(telegram_update("update_group_message"), id="group message"),
        pytest.param(
            telegram_update("update_callback_query", chat_type="group"), id="group button"
        ),
    ],
)
async def test_updates_stemme_does_not_act_on_parse_to_nothing(
    channel: TelegramChannel, update: dict[str, Any]
) -> None:
    headers, body = telegram_request(update, TELEGRAM_SECRET)

    assert await channel.verify_and_parse(headers, body, PATH) == []


async def test_message_date_and_language_are_kept(channel: TelegramChannel) -> None:
    headers, body = telegram_request(telegram_update("update_message"), TELEGRAM_SECRET)

    inbound = _one(await channel.verify_and_parse(headers, body, PATH))

    assert inbound.sent_at == datetime.fromtimestamp(1746268800, tz=UTC)
    assert inbound.language == "da"


@pytest.mark.parametrize(
    "secret",
    [
        pytest.param(None, id="missing"),
        pytest.param("", id="empty"),
        pytest.param("wrong", id="wrong"),
        pytest.param(TELEGRAM_SECRET + "x", id="longer"),
        pytest.param("hemmelighed-æøå", id="non-ascii"),
    ],
)
async def test_missing_or_wrong_secret_is_forged(
    channel: TelegramChannel, secret: str | None
) -> None:
    headers, body = telegram_request(telegram_update("update_message"), None)
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret

    with pytest.raises(ForgedRequest):
        await channel.verify_and_parse(headers, body, PATH)


async def test_secret_header_name_is_case_insensitive(channel: TelegramChannel) -> None:
    _, body = telegram_request(telegram_update("update_message"), None)
    headers = {"x-telegram-bot-api-secret-token": TELEGRAM_SECRET}

    assert len(await channel.verify_and_parse(headers, body, PATH)) == 1


async def test_forged_request_is_refused_before_the_body_is_read(
    channel: TelegramChannel,
) -> None:
    with pytest.raises(ForgedRequest):
        await channel.verify_and_parse({}, b"not json", PATH)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"{not json", id="broken json"),
        pytest.param(b"\xff\xfe", id="not utf-8"),
        pytest.param(b"[]", id="not an object"),
        pytest.param(b'{"message": {}}', id="no update_id"),
        pytest.param(b'{"update_id": "1"}', id="update_id as string"),
        pytest.param(b'{"update_id": 1, "message": {"chat": {}}}', id="chat without id"),
        pytest.param(b'{"update_id": 1, "callback_query": {"id": 5}}', id="bad query id"),
    ],
)
async def test_malformed_body_with_the_right_secret_is_malformed(
    channel: TelegramChannel, body: bytes
) -> None:
    headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}

    with pytest.raises(MalformedRequest):
        await channel.verify_and_parse(headers, body, PATH)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'{"update_id": 1, "message": {"message_id": 1, "date": 10000000000000000,'
                     b' "chat": {"id": 5, "type": "private"}, "text": "hej"}}', id="huge date"),
        pytest.param(b'{"update_id": 1, "message": "hej"}', id="message as string"),
        pytest.param(b'{"update_id": 1, "message": {"message_id": 1, "date": 1,'
                     b' "chat": {"id": "abc", "type": "private"}, "text": "hej"}}',
                     id="chat id as string"),
        pytest.param(b'{"update_id": 1, "callback_query": {"id": "q", "from": 7,'
                     b' "chat_instance": "c"}}', id="sender as number"),
        pytest.param(b'{"update_id": 1, "message": ' + b'{"a": ' * 400 + b'1' + b'}' * 400
                     + b'}', id="deep nesting"),
        pytest.param(b'{"update_id": 99999999999999999999999}', id="update id too large"),
    ],
)
async def test_a_body_ptb_cannot_build_into_an_update_is_malformed(
    channel: TelegramChannel, body: bytes
) -> None:
    headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}

    with pytest.raises(MalformedRequest):
        await channel.verify_and_parse(headers, body, PATH)
