"""The SMS adapter: the real twilio Client against the fake API, and signed webhook parsing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web

from bot.channels.base import (
    Failed,
    ForgedRequest,
    Handler,
    Inbound,
    MalformedRequest,
    Retry,
    Sent,
    Stop,
)
from bot.channels.sms.channel import (
    RebasedAsyncHttpClient,
    TwilioSmsChannel,
    render_sms,
)
from bot.channels.sms.routes import EMPTY_TWIML
from bot.flows.messages import Choice, OutgoingMessage
from tests.channels.conftest import PUBLIC_URL, TEST_TIMEOUT
from tests.fakes.fixtures import TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM
from tests.fakes.server import Fault
from tests.fakes.twilio_api import FakeTwilioAPI
from tests.fakes.webhooks import twilio_form, twilio_request

PHONE = "tel:+4512345678"
NOW = datetime(2026, 11, 20, 15, 10, tzinfo=UTC)
PROMPT = OutgoingMessage("Hej! Hvordan gik det i dag? Svar med et tal fra 0 til 10.")
SMS_URL = PUBLIC_URL + "/webhooks/twilio/sms"
STATUS_URL = PUBLIC_URL + "/webhooks/twilio/status"


async def test_send_creates_a_message_and_returns_its_sid(
    sms: TwilioSmsChannel, fake_twilio: FakeTwilioAPI
) -> None:
    result = await sms.send(PHONE, PROMPT, idempotency_key="k1")

    [call] = fake_twilio.created("+4512345678")
    assert isinstance(result, Sent)
    assert result.provider_message_id.startswith("SM")
    assert len(result.provider_message_id) == 34
    assert result.provider_message_id in fake_twilio.messages
    assert call.params == {
        "To": "+4512345678",
        "From": TWILIO_FROM,
        "Body": PROMPT.text,
        "StatusCallback": STATUS_URL,
    }


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        pytest.param(Fault.opted_out(), Stop(reason="opted_out"), id="21610 opted out"),
        pytest.param(
            Fault.server_error(), Retry(after_seconds=5.0, reason="server_error"), id="500"
        ),
        pytest.param(
            Fault.rate_limited(), Retry(after_seconds=2.0, reason="rate_limited"), id="429"
        ),
        pytest.param(Fault.bad_request(), Failed(reason="invalid_address"), id="21211"),
    ],
)
async def test_provider_errors_map_to_send_results(
    sms: TwilioSmsChannel, fake_twilio: FakeTwilioAPI, fault: Fault, expected: object
) -> None:
    fake_twilio.inject(fault, target="+4512345678")

    result = await sms.send(PHONE, PROMPT, idempotency_key="k")

    assert result == expected


async def test_hanging_api_becomes_retry_after_the_timeout(
    sms: TwilioSmsChannel, fake_twilio: FakeTwilioAPI
) -> None:
    fake_twilio.inject(Fault.hang())

    result = await sms.send(PHONE, PROMPT, idempotency_key="k")

    assert isinstance(result, Retry)
    assert result.reason == "timeout"


async def test_wrong_credentials_fail_instead_of_retrying(fake_twilio: FakeTwilioAPI) -> None:
    channel = TwilioSmsChannel(
        account_sid=TWILIO_ACCOUNT_SID,
        auth_token="wrong",
        from_number=TWILIO_FROM,
        public_url=PUBLIC_URL,
        api_url=fake_twilio.url,
        timeout=TEST_TIMEOUT,
    )
    async with channel:
        result = await channel.send(PHONE, PROMPT, idempotency_key="k")

    assert result == Failed(reason="rejected:20003")


@pytest.mark.parametrize(
    ("address", "message", "reason"),
    [
        ("telegram:1", PROMPT, "invalid_address"),
        ("tel:12345678", PROMPT, "invalid_address"),
        (PHONE, OutgoingMessage(" "), "empty_message"),
        (PHONE, OutgoingMessage("x" * 1601), "too_long"),
    ],
)
async def test_unsendable_sms_fail_without_calling_twilio(
    sms: TwilioSmsChannel,
    fake_twilio: FakeTwilioAPI,
    address: str,
    message: OutgoingMessage,
    reason: str,
) -> None:
    result = await sms.send(address, message, idempotency_key="k")

    assert result == Failed(reason=reason)
    assert fake_twilio.requests == []


@pytest.mark.parametrize(
    ("message", "body"),
    [
        pytest.param(PROMPT, PROMPT.text, id="plain text"),
        pytest.param(
            OutgoingMessage(
                "Må vi skrive til dig?", (Choice("Ja", "y"), Choice("Nej", "n")), "yes_no"
            ),
            "Må vi skrive til dig?\nJa / Nej",
            id="yes_no without a hint gets the labels",
        ),
        pytest.param(
            OutgoingMessage(
                "Må vi skrive? Svar JA eller NEJ",
                (Choice("Ja", "y"), Choice("Nej", "n")),
                "yes_no",
            ),
            "Må vi skrive? Svar JA eller NEJ",
            id="yes_no with a hint is left alone",
        ),
        pytest.param(
            OutgoingMessage(
                "Hvordan? Svar 0-10", tuple(Choice(str(n), str(n)) for n in range(11)), "scale"
            ),
            "Hvordan? Svar 0-10",
            id="scale never spelled out",
        ),
    ],
)
def test_sms_rendering_is_text_first(message: OutgoingMessage, body: str) -> None:
    assert render_sms(message) == body


def test_the_empty_twiml_is_an_empty_response() -> None:
    assert EMPTY_TWIML == '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


# -- webhooks ---------------------------------------------------------------------------------


@pytest.fixture
async def channel() -> AsyncIterator[TwilioSmsChannel]:
    # Parsing never touches the network; the HTTP session is never opened.
    adapter = TwilioSmsChannel(
        account_sid=TWILIO_ACCOUNT_SID,
        auth_token=TWILIO_AUTH_TOKEN,
        from_number=TWILIO_FROM,
        public_url=PUBLIC_URL,
        clock=lambda: NOW,
    )
    yield adapter
    await adapter.close()


PARSE_CASES: list[tuple[str, str, dict[str, str], dict[str, Any]]] = [
    (
        "inbound answers",
        "/webhooks/twilio/sms",
        twilio_form("inbound_sms"),
        {
            "kind": "text",
            "text": "7 6 8 9",
            "provider_id": "SM11111111111111111111111111111111",
            "address": "tel:+4512345678",
        },
    ),
    (
        "STOP",
        "/webhooks/twilio/sms",
        twilio_form("inbound_stop"),
        {"kind": "text", "text": "STOP", "opt_out_type": "STOP", "address": "tel:+4512345678"},
    ),
    (
        "picture without text",
        "/webhooks/twilio/sms",
        twilio_form("inbound_sms", Body="", NumMedia="1"),
        {"kind": "unsupported"},
    ),
    (
        "undelivered, opted out",
        "/webhooks/twilio/status",
        twilio_form("status_undelivered_21610"),
        {
            "kind": "status",
            "provider_id": "SM00000000000000000000000000000001:undelivered",
            "status_message_sid": "SM00000000000000000000000000000001",
            "message_status": "undelivered",
            "error_code": 21610,
            "address": "tel:+4512345678",
        },
    ),
    (
        "delivered",
        "/webhooks/twilio/status",
        twilio_form("status_delivered"),
        {"kind": "status", "message_status": "delivered", "error_code": None},
    ),
]


@pytest.mark.parametrize(
    ("path", "form", "expected"),
    [pytest.param(p, f, e, id=name) for name, p, f, e in PARSE_CASES],
)
async def test_signed_webhooks_parse_to_inbound(
    channel: TwilioSmsChannel, path: str, form: dict[str, str], expected: dict[str, Any]
) -> None:
    headers, body = twilio_request(PUBLIC_URL + path, form, TWILIO_AUTH_TOKEN)

    [inbound] = await channel.verify_and_parse(headers, body, path)

    assert (inbound.provider, inbound.received_at) == ("sms", NOW)
    for field, value in expected.items():
        assert getattr(inbound, field) == value, field


@pytest.mark.parametrize(
    ("signed_url", "token", "tamper"),
    [
        pytest.param(SMS_URL, "another-token", False, id="other auth token"),
        pytest.param(
            "https://evil.example.org/webhooks/twilio/sms",
            TWILIO_AUTH_TOKEN,
            False,
            id="other url",
        ),
        pytest.param(SMS_URL, TWILIO_AUTH_TOKEN, True, id="body changed after signing"),
    ],
)
async def test_forged_signature_is_refused(
    channel: TwilioSmsChannel, signed_url: str, token: str, tamper: bool
) -> None:
    form = twilio_form("inbound_sms")
    headers, body = twilio_request(signed_url, form, token)
    if tamper:
        body = body.replace(b"Body=7", b"Body=0")

    with pytest.raises(ForgedRequest):
        await channel.verify_and_parse(headers, body, "/webhooks/twilio/sms")


async def test_a_signature_over_the_url_with_its_port_written_out_is_accepted(
    channel: TwilioSmsChannel,
) -> None:
    # Twilio's own signing is not consistent about the default port; RequestValidator
    # accepts both forms, and so must we.
    with_port = PUBLIC_URL.replace(".org", ".org:443") + "/webhooks/twilio/sms"
    headers, body = twilio_request(with_port, twilio_form("inbound_sms"), TWILIO_AUTH_TOKEN)

    [inbound] = await channel.verify_and_parse(headers, body, "/webhooks/twilio/sms")

    assert inbound.text == "7 6 8 9"


async def test_missing_signature_is_forged(channel: TwilioSmsChannel) -> None:
    _, body = twilio_request(SMS_URL, twilio_form("inbound_sms"), TWILIO_AUTH_TOKEN)

    with pytest.raises(ForgedRequest):
        await channel.verify_and_parse({}, body, "/webhooks/twilio/sms")


@pytest.mark.parametrize(
    ("path", "form"),
    [
        pytest.param("/webhooks/twilio/sms", {"Body": "7"}, id="inbound without sid"),
        pytest.param("/webhooks/twilio/status", {"MessageSid": "SM1"}, id="status without status"),
    ],
)
async def test_signed_but_incomplete_form_is_malformed(
    channel: TwilioSmsChannel, path: str, form: dict[str, str]
) -> None:
    headers, body = twilio_request(PUBLIC_URL + path, form, TWILIO_AUTH_TOKEN)

    with pytest.raises(MalformedRequest):
        await channel.verify_and_parse(headers, body, path)


async def test_fake_status_callback_round_trip_verifies_and_parses(
    fake_twilio: FakeTwilioAPI,
) -> None:
    # Twilio calls STEMME_PUBLIC_URL, so here the public URL is a tiny receiver in front of
    # the adapter, like the lead's route: 403 for forged, 400 for malformed, 200 + TwiML else.
    received: list[Inbound] = []
    holder: list[TwilioSmsChannel] = []

    async def route(request: web.Request) -> web.Response:
        try:
            inbound = await holder[0].verify_and_parse(
                request.headers, await request.read(), request.path_qs
            )
        except ForgedRequest:
            return web.Response(status=403)
        received.extend(inbound)
        return web.Response(text=EMPTY_TWIML, content_type="text/xml")

    app = web.Application()
    app.router.add_post("/webhooks/twilio/{kind}", route)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    public_url = f"http://{host}:{port}"
    try:
        async with TwilioSmsChannel(
            account_sid=TWILIO_ACCOUNT_SID,
            auth_token=TWILIO_AUTH_TOKEN,
            from_number=TWILIO_FROM,
            public_url=public_url,
            api_url=fake_twilio.url,
            timeout=TEST_TIMEOUT,
        ) as channel:
            holder.append(channel)
            sent = await channel.send(PHONE, PROMPT, idempotency_key="k")
            assert isinstance(sent, Sent)

            status = await fake_twilio.emit_status(
                sent.provider_message_id, "undelivered", error_code=21610
            )
            inbound_status = await fake_twilio.send_inbound(
                public_url + "/webhooks/twilio/sms", from_="+4512345678", body="STOPP"
            )
    finally:
        await runner.cleanup()

    assert (status, inbound_status) == (200, 200)
    assert [(i.kind, i.message_status, i.error_code, i.text) for i in received] == [
        ("status", "undelivered", 21610, ""),
        ("text", None, None, "STOPP"),
    ]
    assert received[0].status_message_sid == sent.provider_message_id


async def test_twilio_channel_is_a_handler() -> None:
    channel: Handler = TwilioSmsChannel(
        account_sid=TWILIO_ACCOUNT_SID,
        auth_token=TWILIO_AUTH_TOKEN,
        from_number=TWILIO_FROM,
        public_url=PUBLIC_URL,
    )

    assert channel.name == "sms"
    assert not channel.info.capabilities.buttons
    assert channel.info.segments_per_second == 1.0
    await channel.close()


@pytest.mark.parametrize(
    ("api_url", "url", "expected"),
    [
        pytest.param(
            "http://127.0.0.1:9",
            "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json",
            "http://127.0.0.1:9/2010-04-01/Accounts/AC1/Messages.json",
            id="default host",
        ),
        pytest.param(
            "http://127.0.0.1:9/",
            "https://api.dublin.ie1.twilio.com/2010-04-01/Messages.json?PageSize=1",
            "http://127.0.0.1:9/2010-04-01/Messages.json?PageSize=1",
            id="regional host and query",
        ),
        pytest.param(
            "https://api.twilio.com",
            "https://api.dublin.ie1.twilio.com/2010-04-01/Messages.json",
            "https://api.dublin.ie1.twilio.com/2010-04-01/Messages.json",
            id="production leaves twilio's routing alone",
        ),
    ],
)
def test_twilio_urls_are_rebased_onto_the_configured_api(
    api_url: str, url: str, expected: str
) -> None:
    assert RebasedAsyncHttpClient(api_url).rebase(url) == expected
