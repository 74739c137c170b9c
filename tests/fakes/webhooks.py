"""Build provider webhook requests for tests: recorded payloads, updates, Twilio signatures."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
TELEGRAM_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
TWILIO_SIGNATURE_HEADER = "X-Twilio-Signature"


@cache
def _read(provider: str, name: str) -> str:
    return (FIXTURES / provider / name).read_text(encoding="utf-8")


def load_fixture(provider: str, name: str) -> Any:
    """A fresh copy of a recorded payload in tests/fixtures/<provider>/<name>."""
    return json.loads(_read(provider, name))


def telegram_update(
    name: str,
    *,
    update_id: int | None = None,
    text: str | None = None,
    data: str | None = None,
    chat_id: int | None = None,
    chat_type: str | None = None,
) -> dict[str, Any]:
    """A recorded Update (e.g. "update_message") with the usual fields replaced."""
    update: dict[str, Any] = load_fixture("telegram", f"{name.removesuffix('.json')}.json")
    if update_id is not None:
        update["update_id"] = update_id
    message = update.get("message") or update.get("edited_message")
    query = update.get("callback_query")
    if text is not None and message is not None:
        message["text"] = text
    if data is not None and query is not None:
        query["data"] = data
    chats = [m["chat"] for m in (message, (query or {}).get("message")) if m]
    for chat in chats:
        if chat_id is not None:
            chat["id"] = chat_id
        if chat_type is not None:
            chat["type"] = chat_type
    if chat_id is not None:
        for holder in (message, query):
            if holder is not None and "from" in holder:
                holder["from"]["id"] = chat_id
    return update


def telegram_request(update: dict[str, Any], secret: str | None) -> tuple[dict[str, str], bytes]:
    """Headers and body of Telegram's webhook POST for `update` (no secret header if None)."""
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[TELEGRAM_SECRET_HEADER] = secret
    return headers, json.dumps(update).encode("utf-8")


def sign_twilio(url: str, params: dict[str, str], token: str) -> str:
    """The X-Twilio-Signature Twilio would send for a form POST of `params` to `url`."""
    signature: str = RequestValidator(token).compute_signature(url, params)
    return signature


def twilio_form(name: str, **overrides: str) -> dict[str, str]:
    """A recorded Twilio webhook form (e.g. "inbound_sms") with some fields replaced."""
    form: dict[str, str] = copy.deepcopy(
        load_fixture("twilio", f"{name.removesuffix('.json')}.json")
    )
    form.update(overrides)
    return form


def twilio_request(
    url: str, params: dict[str, str], token: str, *, signature: str | None = None
) -> tuple[dict[str, str], bytes]:
    """Headers and body of Twilio's signed form POST to `url` (a forged one if given)."""
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        TWILIO_SIGNATURE_HEADER: signature
        if signature is not None
        else sign_twilio(url, params, token),
    }
    return headers, urlencode(params).encode("utf-8")
