"""Every webhook refuses a body over its limit with a 413, without reading much past the limit.

The client here is a raw socket: it sends the request in small pieces and stops as soon as the
server answers, so what it sent when the answer came bounds what the server read.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.channels.requests import BODY_LIMITS
from tests.fakes.fixtures import TELEGRAM_SECRET
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.twilio_api import FakeTwilioAPI
from tests.pipeline.harness import Stemme, serving

MEGABYTE = 1_000_000
PIECE = 8 * 1024
# Past the limit, what may still be in flight before the answer: the pieces sent while the
# server's event loop turns once more.
SLACK = 128 * 1024


@pytest.fixture
async def stemme(tmp_path: Path, db_url: str, fake_telegram: FakeTelegramAPI,
                 fake_twilio: FakeTwilioAPI) -> AsyncIterator[Stemme]:
    """The whole app on the fakes, with one case."""
    async with serving(tmp_path, db_url, fake_telegram, fake_twilio) as app:
        yield app


def _webhooks(stemme: Stemme) -> dict[str, tuple[str, dict[str, str], int]]:
    """(path, headers, limit) of every webhook: right secrets, a junk Twilio signature."""
    _, token = stemme.add("child", "webchat")
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    return {
        "telegram": ("/webhooks/telegram", {"Content-Type": "application/json",
                                            "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},
                     BODY_LIMITS["telegram"]),
        "twilio_sms": ("/webhooks/twilio/sms", {**form, "X-Twilio-Signature": "junk"},
                       BODY_LIMITS["sms"]),
        "twilio_status": ("/webhooks/twilio/status", {**form, "X-Twilio-Signature": "junk"},
                          BODY_LIMITS["sms"]),
        "webchat": (f"/chat/{token}", form, BODY_LIMITS["webchat"]),
    }


async def _send(stemme: Stemme, path: str, headers: dict[str, str], *,
                chunked: bool) -> tuple[int, int]:
    """POST a 1 MB body piece by piece until the server answers: (status, body bytes sent)."""
    server = stemme.client.server
    reader, writer = await asyncio.open_connection(server.host, server.port)
    framing = {"Transfer-Encoding": "chunked"} if chunked else {"Content-Length": str(MEGABYTE)}
    head = f"POST {path} HTTP/1.1\r\nHost: {server.host}\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in {**headers, **framing}.items()) + "\r\n"
    answer = asyncio.create_task(reader.readline())
    sent = 0
    try:
        writer.write(head.encode("latin-1"))
        await writer.drain()
        await asyncio.sleep(0.01)  # a declared length over the limit is answered at once
        while sent < MEGABYTE and not answer.done():
            piece = b"a" * min(PIECE, MEGABYTE - sent)
            writer.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if chunked else piece)
            await writer.drain()
            sent += len(piece)
            await asyncio.sleep(0.001)  # let the server's side of the loop read
        status_line = await asyncio.wait_for(answer, 5)
    except (ConnectionError, OSError):  # the server may close once it has answered
        status_line = await asyncio.wait_for(answer, 5)
    finally:
        writer.close()
    return int(status_line.split()[1]), sent


@pytest.mark.parametrize("webhook", ["telegram", "twilio_sms", "twilio_status", "webchat"])
async def test_a_declared_megabyte_is_refused_before_any_of_it_is_read(
    stemme: Stemme, webhook: str
) -> None:
    path, headers, _ = _webhooks(stemme)[webhook]

    status, sent = await _send(stemme, path, headers, chunked=False)

    assert (status, sent) == (413, 0)


@pytest.mark.parametrize("webhook", ["telegram", "twilio_sms", "twilio_status", "webchat"])
async def test_a_chunked_megabyte_is_refused_once_past_the_limit(
    stemme: Stemme, webhook: str
) -> None:
    path, headers, limit = _webhooks(stemme)[webhook]

    status, sent = await _send(stemme, path, headers, chunked=True)

    assert status == 413
    assert limit < sent <= limit + SLACK < MEGABYTE


async def test_a_body_at_the_limit_is_read(stemme: Stemme) -> None:
    path, headers, limit = _webhooks(stemme)["twilio_sms"]
    body = b"Body=" + b"a" * (limit - len("Body="))

    async with stemme.client.post(path, data=body, headers=headers) as response:
        assert response.status == 403  # read whole, then refused for its junk signature
