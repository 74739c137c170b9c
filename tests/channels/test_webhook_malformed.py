"""Bodies a provider could not have sent are a 400, never a 500, even with the right secret.

Each case was found by an outside test, where it answered 500 (or cost the event loop a
third of a second before its 403).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from bot.channels.sms.channel import MAX_FORM_FIELDS
from tests.fakes.fixtures import TELEGRAM_SECRET, TWILIO_AUTH_TOKEN
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.twilio_api import FakeTwilioAPI
from tests.fakes.webhooks import telegram_update, twilio_form, twilio_request
from tests.pipeline.harness import PUBLIC_URL, Stemme, serving

TELEGRAM = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}


@pytest.fixture
async def stemme(tmp_path: Path, db_url: str, fake_telegram: FakeTelegramAPI,
                 fake_twilio: FakeTwilioAPI) -> AsyncIterator[Stemme]:
    """The whole app on the fakes, with one case."""
    async with serving(tmp_path, db_url, fake_telegram, fake_twilio) as app:
        yield app


async def _post(stemme: Stemme, path: str, body: bytes, headers: dict[str, str]) -> int:
    async with stemme.client.post(path, data=body, headers=headers,
                                  allow_redirects=False) as response:
        return response.status


def _message(**fields: Any) -> bytes:
    update = telegram_update("update_message")
    update["message"].update(fields)
    return json.dumps(update).encode()


@pytest.mark.parametrize("body", [
    pytest.param(b"[" * 100_000 + b"]" * 100_000, id="100k-deep nesting"),
    pytest.param(b'{"update_id": ' + b"7" * 5000 + b"}", id="5,000-digit integer"),
    pytest.param(b'{"update_id": ' + b"7" * 25 + b"}", id="25-digit integer"),
    pytest.param(_message(date=10**18), id="date 10**18"),
    pytest.param(_message(date=253402300800), id="date past year 9999"),
    pytest.param(_message(date=-1), id="date before 1970"),
    pytest.param(_message(text="\ud800"), id="lone surrogate"),
    pytest.param(_message(text="a\udfffb"), id="lone low surrogate"),
    pytest.param(b'{"update_id": NaN}', id="NaN"),
    pytest.param(b'{"update_id": 1, "message": {"date": Infinity}}', id="Infinity"),
])
async def test_telegram_bodies_telegram_never_sends_are_400(stemme: Stemme, body: bytes) -> None:
    assert await _post(stemme, "/webhooks/telegram", body, TELEGRAM) == 400


async def test_an_odd_language_code_is_ignored_not_refused(stemme: Stemme) -> None:
    update = telegram_update("update_message")
    update["message"]["from"]["language_code"] = "x" * 500

    assert await _post(stemme, "/webhooks/telegram", json.dumps(update).encode(), TELEGRAM) == 200


def _twilio(path: str, form: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    headers, body = twilio_request(PUBLIC_URL + path, form, TWILIO_AUTH_TOKEN)
    return body, headers


@pytest.mark.parametrize("code", ["²", "٣", "9" * 5000, "1" * 10, "-5", "3e4"])
async def test_a_status_with_an_error_code_twilio_never_sends_is_400(
    stemme: Stemme, code: str
) -> None:
    body, headers = _twilio("/webhooks/twilio/status",
                            twilio_form("status_undelivered_21610", ErrorCode=code))

    assert await _post(stemme, "/webhooks/twilio/status", body, headers) == 400


@pytest.mark.parametrize("code", ["30003", "", " "])
async def test_a_status_with_a_twilio_error_code_or_none_is_taken(
    stemme: Stemme, code: str
) -> None:
    body, headers = _twilio("/webhooks/twilio/status",
                            twilio_form("status_undelivered_21610", ErrorCode=code))

    assert await _post(stemme, "/webhooks/twilio/status", body, headers) == 200


@pytest.mark.parametrize(("path", "fixture", "overrides"), [
    ("/webhooks/twilio/sms", "inbound_sms", {"MessageSid": "SM" + "1" * 100}),
    ("/webhooks/twilio/sms", "inbound_sms", {"MessageSid": "SM1\x00"}),
    ("/webhooks/twilio/status", "status_delivered", {"MessageSid": "SM" + "1" * 100}),
    ("/webhooks/twilio/status", "status_delivered", {"MessageStatus": "delivered" * 10}),
])
async def test_twilio_ids_that_cannot_be_twilio_s_are_400(
    stemme: Stemme, path: str, fixture: str, overrides: dict[str, str]
) -> None:
    body, headers = _twilio(path, twilio_form(fixture, **overrides))

    assert await _post(stemme, path, body, headers) == 400


@pytest.mark.parametrize("signed", [True, False])
async def test_a_form_with_more_fields_than_twilio_sends_is_400_before_its_signature(
    stemme: Stemme, signed: bool
) -> None:
    form = twilio_form("inbound_sms") | {f"F{n}": "" for n in range(MAX_FORM_FIELDS)}
    body, headers = _twilio("/webhooks/twilio/sms", form)
    if not signed:
        headers["X-Twilio-Signature"] = "junk"

    assert await _post(stemme, "/webhooks/twilio/sms", body, headers) == 400


async def test_a_web_chat_post_with_an_overlong_client_id_is_kept_under_an_id_of_its_own(
        stemme: Stemme) -> None:
    _, token = stemme.add("child", "webchat")
    body = urlencode({"text": "hej", "msg_id": "a" * 64}).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}

    status = await _post(stemme, f"/chat/{token}", body, headers)

    assert status == 303  # stored and answered: an odd id from the page loses no words


async def test_a_web_chat_post_with_hundreds_of_fields_is_400(stemme: Stemme) -> None:
    _, token = stemme.add("child", "webchat")
    body = ("&".join(f"f{i}=" for i in range(500)) + "&text=hej").encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}

    assert await _post(stemme, f"/chat/{token}", body, headers) == 400
