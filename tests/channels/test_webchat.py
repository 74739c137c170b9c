"""The web-chat adapter: form posts in, messages handed back on send."""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import pytest

from bot.channels.base import Failed, ForgedRequest, Handler, MalformedRequest, Sent
from bot.channels.webchat.channel import WebChatChannel
from bot.flows.messages import OutgoingMessage
from tests.dashboard.harness import start_site, stop_site

NOW = datetime(2026, 11, 20, 15, 10, tzinfo=UTC)


async def _resolve(token: str) -> str | None:
    return {"tok-abc": "p-1"}.get(token)


@pytest.fixture
def channel() -> WebChatChannel:
    return WebChatChannel(resolve_token=_resolve, clock=lambda: NOW)


async def test_typed_text_is_parsed(channel: WebChatChannel) -> None:
    body = urlencode({"text": "Det går godt", "msg_id": "c1d2e3f4g5"}).encode()

    [inbound] = await channel.verify_and_parse({}, body, "/chat/tok-abc")

    assert (inbound.kind, inbound.text, inbound.address) == ("text", "Det går godt", "webchat:p-1")
    assert inbound.provider_id == "p-1:c1d2e3f4g5"  # scoped to the participant
    assert inbound.received_at == NOW


async def test_tapped_choice_is_a_button(channel: WebChatChannel) -> None:
    body = urlencode({"choice": "outcome:me:7", "text": ""}).encode()

    [inbound] = await channel.verify_and_parse({}, body, "/chat/tok-abc")

    assert (inbound.kind, inbound.button_data) == ("button", "outcome:me:7")
    # generated when the page sent no usable msg_id, scoped to the participant
    assert inbound.provider_id.startswith("p-1:") and len(inbound.provider_id) == 36


async def test_empty_post_is_nothing(channel: WebChatChannel) -> None:
    assert await channel.verify_and_parse({}, b"text=++", "/chat/tok-abc") == []


@pytest.mark.parametrize("path", ["/chat/unknown", "/elsewhere"])
async def test_unknown_chat_token_is_forged(channel: WebChatChannel, path: str) -> None:
    with pytest.raises(ForgedRequest):
        await channel.verify_and_parse({}, b"text=hej", path)


@pytest.mark.parametrize("body", [b"\xff", urlencode({"text": "x" * 4097}).encode()])
async def test_unreadable_or_huge_post_is_malformed(channel: WebChatChannel, body: bytes) -> None:
    with pytest.raises(MalformedRequest):
        await channel.verify_and_parse({}, body, "/chat/tok-abc")


async def test_send_returns_an_id_derived_from_the_idempotency_key(
    channel: WebChatChannel,
) -> None:
    handler: Handler = channel

    first = await handler.send("webchat:p-1", OutgoingMessage("Hej"), idempotency_key="out-9")
    again = await handler.send("webchat:p-1", OutgoingMessage("Hej"), idempotency_key="out-9")
    wrong = await handler.send("tel:+4512345678", OutgoingMessage("Hej"), idempotency_key="x")

    assert first == again == Sent(provider_message_id="webchat-out-9")
    assert wrong == Failed(reason="invalid_address")
    assert handler.info.capabilities.buttons


async def test_the_chat_page_carries_the_dashboards_strict_headers(tmp_path: Path) -> None:
    site = await start_site(tmp_path)
    try:
        async with site.agent().http.get("/chat/no-such-token") as resp:
            status, headers, html = resp.status, resp.headers, await resp.text()
    finally:
        await stop_site(site)
    style = re.search(r"<style>(.*?)</style>", html, re.S)
    inline = base64.b64encode(hashlib.sha256(style[1].encode() if style else b"").digest())

    assert status == 404
    policy = headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "script-src" not in policy  # no scripts at all
    assert f"style-src 'sha256-{inline.decode()}'" in policy  # the page's own styles only
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"  # the URL holds the person's secret
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Cache-Control"] == "no-store"
