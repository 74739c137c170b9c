"""Generated bodies, each with a valid secret or signature, never make a webhook answer 5xx.

The bodies are what a holder of the secret could send: Update-shaped JSON with odd values in
every field Stemme reads, any JSON, any bytes; Twilio forms with the fields Twilio sends (and
others) holding odd values, any bytes; web-chat forms. Each goes through the whole app
(verify, parse, store, and for web chat the reply) on SQLite and, when configured, PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from multidict import MultiDict
from twilio.request_validator import RequestValidator

from tests.fakes.fixtures import TELEGRAM_SECRET, TWILIO_AUTH_TOKEN
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.twilio_api import FakeTwilioAPI
from tests.fakes.webhooks import load_fixture
from tests.pipeline.harness import PUBLIC_URL, Stemme, serving

# A few hundred bodies per webhook, a few seconds each (one app serves all examples).
FUZZ = settings(max_examples=250, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture
async def stemme(tmp_path: Path, db_url: str, fake_telegram: FakeTelegramAPI,
                 fake_twilio: FakeTwilioAPI) -> AsyncIterator[Stemme]:
    """The whole app on the fakes, with one case."""
    async with serving(tmp_path, db_url, fake_telegram, fake_twilio) as app:
        yield app


# -- JSON --------------------------------------------------------------------------------

ODD_TEXT = st.sampled_from(["", " ", "/start", "/start tok-1", "/start " + "a" * 70, "/STOP",
                            "/help@stemme_test_bot", "7", "\ud800", "\udfff x", "\x00",
                            "\u202e", "😀" * 100]) | st.builds("x".__mul__,
                                                                 st.sampled_from([4097, 5000]))
TEXT = st.one_of(st.text(max_size=40), ODD_TEXT)
LEAF = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), TEXT)
JSON = st.recursive(LEAF, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12)
ODD_IDS = st.one_of(st.integers(-(2**64), 2**64),
                    st.sampled_from([0, -1, 4242, 2**63, -(2**63)]), JSON)
ODD_DATES = st.one_of(st.integers(-(10**19), 10**19),
                      st.sampled_from([0, 1746268800, 10**18, 253402300800]), JSON)


def _updates(ids: st.SearchStrategy[Any], dates: st.SearchStrategy[Any],
             odd: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Update-shaped objects; `odd` is what may stand in for a field's object."""
    chat = st.fixed_dictionaries(
        {"id": ids, "type": st.sampled_from(["private", "private", "group", "channel"]) | odd},
        optional={"first_name": TEXT})
    user = st.fixed_dictionaries({"id": ids, "is_bot": st.booleans() | odd, "first_name": TEXT},
                                 optional={"language_code": TEXT | odd, "username": TEXT})
    message = st.fixed_dictionaries({"message_id": ids, "chat": chat, "date": dates}, optional={
        "from": user, "text": TEXT | odd, "caption": TEXT, "photo": odd, "sticker": odd,
        "entities": odd, "reply_markup": odd})
    callback = st.fixed_dictionaries(
        {"id": TEXT | odd, "from": user | odd, "chat_instance": TEXT},
        optional={"message": message | odd, "data": TEXT | odd})
    member = st.fixed_dictionaries({
        "chat": chat, "from": user, "date": dates,
        "old_chat_member": st.fixed_dictionaries({"status": TEXT, "user": user}),
        "new_chat_member": st.fixed_dictionaries(
            {"status": st.sampled_from(["kicked", "member", "left"]) | odd, "user": user},
            optional={"until_date": dates})})
    kinds = st.one_of(*(st.fixed_dictionaries({key: value}) for key, value in (
        ("message", message), ("callback_query", callback), ("my_chat_member", member),
        ("edited_message", message))), st.dictionaries(st.text(max_size=12), odd, max_size=2))
    return st.builds(lambda update_id, kind: {"update_id": update_id, **kind}, ids, kinds)


# Plausible updates (a real chat's ids and dates, odd texts) and odd ones (any value anywhere).
UPDATE = st.one_of(
    _updates(st.integers(1, 2**40), st.integers(1_400_000_000, 1_900_000_000), st.nothing()),
    _updates(ODD_IDS, ODD_DATES, JSON))
TELEGRAM_BODIES = st.one_of(
    UPDATE.map(lambda u: json.dumps(u).encode()),
    UPDATE.map(lambda u: json.dumps(u, ensure_ascii=False).encode("utf-8", "surrogatepass")),
    JSON.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=200),
)


@FUZZ
@given(body=TELEGRAM_BODIES)
async def test_telegram_never_answers_5xx(stemme: Stemme, body: bytes) -> None:
    headers = {"Content-Type": "application/json",
               "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
    async with stemme.client.post("/webhooks/telegram", data=body, headers=headers) as resp:
        assert resp.status < 500, await resp.text()


# -- Twilio --------------------------------------------------------------------------------

KNOWN = ["MessageSid", "SmsSid", "SmsMessageSid", "AccountSid", "MessagingServiceSid", "From",
         "To", "Body", "NumMedia", "NumSegments", "MessageStatus", "SmsStatus", "ErrorCode",
         "OptOutType", "ApiVersion", "MediaUrl0", "MediaContentType0"]
VALUE = st.one_of(st.text(max_size=40), ODD_TEXT,
                  st.builds("9".__mul__, st.sampled_from([10, 5000])),
                  st.sampled_from(["²", "٣", "21610", "-1", "+4512345678",
                                   "+4520304050", "SM" + "1" * 32, "delivered", "failed",
                                   "undelivered", "STOP", "START"]),
                  st.text(alphabet="0123456789", max_size=30))
PAIRS = st.lists(st.tuples(st.sampled_from(KNOWN) | st.text(max_size=10), VALUE), max_size=30)


def _forms(fixture: str) -> st.SearchStrategy[list[tuple[str, str]]]:
    """The recorded form with some fields replaced, removed or repeated, or any pairs."""
    base = list(load_fixture("twilio", f"{fixture}.json").items())
    edited = st.tuples(PAIRS, st.sets(st.sampled_from(KNOWN))).map(
        lambda t: [(k, v) for k, v in base if k not in t[1]] + t[0])
    return st.one_of(edited, PAIRS)


def _urlencoded(pairs: list[tuple[str, str]]) -> bytes:
    # A lone surrogate goes as the bytes it would be in UTF-8 with surrogatepass: not UTF-8.
    return urlencode(pairs, errors="surrogatepass").encode()


def _signed(path: str, body: bytes) -> dict[str, str]:
    """Headers with the signature Twilio would compute over the body's fields."""
    try:
        params: MultiDict[str] = MultiDict(parse_qsl(body.decode("utf-8"),
                                                     keep_blank_values=True))
    except UnicodeDecodeError:
        params = MultiDict()
    signature = RequestValidator(TWILIO_AUTH_TOKEN).compute_signature(PUBLIC_URL + path, params)
    return {"Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature}


def _bodies(fixture: str) -> st.SearchStrategy[bytes]:
    return st.one_of(_forms(fixture).map(_urlencoded),
                     st.binary(max_size=200))


async def _post_twilio(stemme: Stemme, path: str, body: bytes) -> None:
    async with stemme.client.post(path, data=body, headers=_signed(path, body)) as resp:
        assert resp.status < 500, await resp.text()


@FUZZ
@given(body=_bodies("inbound_sms"))
async def test_twilio_sms_never_answers_5xx(stemme: Stemme, body: bytes) -> None:
    await _post_twilio(stemme, "/webhooks/twilio/sms", body)


@FUZZ
@given(body=_bodies("status_delivered"))
async def test_twilio_status_never_answers_5xx(stemme: Stemme, body: bytes) -> None:
    await _post_twilio(stemme, "/webhooks/twilio/status", body)


# -- web chat ------------------------------------------------------------------------------

WEBCHAT_FORMS = st.lists(st.tuples(st.sampled_from(["text", "choice", "msg_id"]) | st.text(
    max_size=6), VALUE | st.sampled_from(["outcome:me:7", "consent:yes"])),
    max_size=6)


@pytest.fixture
def pages(stemme: Stemme) -> list[str]:
    """A child's web-chat page, replaced when an input (a withdrawal) closed it."""
    return [stemme.add("child", "webchat")[1] or ""]


@settings(FUZZ, max_examples=200)  # each post is also processed and answered: slower
@given(body=st.one_of(WEBCHAT_FORMS.map(_urlencoded),
                      st.binary(max_size=200)))
async def test_webchat_never_answers_5xx(stemme: Stemme, pages: list[str], body: bytes) -> None:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    async with stemme.client.post(f"/chat/{pages[0]}", data=body, headers=headers,
                                  allow_redirects=False) as resp:
        assert resp.status < 500, await resp.text()
        if resp.status == 404:
            pages[0] = stemme.add("child", "webchat")[1] or ""
