"""SMS channel over Twilio: signed webhooks in, the twilio library's async client out."""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import aiohttp
from aiohttp import web
from multidict import MultiDict
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http import AsyncHttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator, compare
from twilio.rest import Client

from bot.channels.base import (
    ChannelInfo,
    ChannelName,
    Failed,
    Followup,
    ForgedRequest,
    Inbound,
    InboundKind,
    Intake,
    MalformedRequest,
    SendResult,
    Sent,
    header,
    tel_address,
    tel_number,
    utc_now,
)
from bot.channels.errors import map_twilio_error
from bot.channels.sms import routes as sms_routes
from bot.channels.sms.info import MAX_BODY, SMS_INFO
from bot.channels.sms.routes import STATUS_PATH
from bot.flows.gsm7 import segments
from bot.flows.messages import OutgoingMessage

_LOGGER = logging.getLogger(__name__)
TWILIO_API_URL: Final = "https://api.twilio.com"
SIGNATURE_HEADER: Final = "X-Twilio-Signature"
# A trial account prefixes every body with this; a look-up must still recognise our message.
TRIAL_PREFIX: Final = "Sent from your Twilio trial account - "
# Look-ups read at most this many messages to one number: enough for months of surveys.
LOOKUP_LIMIT: Final = 1000
RECENT_PAGE: Final = 50
# Twilio's clock and ours may disagree a little; a look-up window starts this much earlier.
CLOCK_SKEW: Final = timedelta(minutes=5)

# Twilio's forms have about 40 fields (ten media URLs and their types among them); a body
# with many more is no webhook of Twilio's and is refused before its signature is computed.
MAX_FORM_FIELDS: Final = 200
_SID = re.compile(r"^[A-Za-z0-9]{1,40}$")  # "SM" + 32 hex digits
_STATUS = re.compile(r"^[a-z_]{1,32}$")  # queued, sent, delivered, partially_delivered, ...
_ERROR_CODE = re.compile(r"^[0-9]{1,9}$")

# What a call to Twilio may raise: its own errors, and the network's.
_CALL_ERRORS: Final = (TwilioRestException, TwilioServiceException, aiohttp.ClientError,
                       TimeoutError, OSError)



def render_sms(message: OutgoingMessage) -> str:
    """The SMS body: the text, plus "Ja / Nej"-style labels when the text names no choice.

    Flows write their own answer hint when a channel has no buttons, so normally the text is
    sent as is. Scales and faces are never spelled out: faces are emoji, which would turn the
    whole SMS into UCS-2 (70 characters a segment).
    """
    text = message.text.strip()
    if message.layout not in ("yes_no", "list") or not message.choices:
        return text
    lowered = text.lower()
    if any(choice.label.lower() in lowered for choice in message.choices):
        return text
    return f"{text}\n" + " / ".join(choice.label for choice in message.choices)


class RebasedAsyncHttpClient(AsyncHttpClient):  # type: ignore[misc]  # twilio is untyped
    """An async http_client for twilio.rest.Client that can talk to a test server.

    The twilio library builds absolute URLs from a hard-coded domain
    (twilio/rest/api/ApiBase.py: "https://api.twilio.com") and hands every request to the
    client's `http_client`, its documented extension point; rewriting the prefix here keeps
    all resources working against `api_url`. It replaces AsyncTwilioHttpClient because that
    one (twilio 9.x) passes `aiohttp.BasicAuth`, deprecated since aiohttp 3.14, ignores its own
    `timeout`, and logs request URLs at INFO.
    """

    def __init__(self, api_url: str = TWILIO_API_URL, timeout: float = 10.0) -> None:
        super().__init__(_LOGGER, True, timeout)
        self.api_url = api_url.rstrip("/")
        self._session: aiohttp.ClientSession | None = None

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        """Send one request to the configured base URL and wrap the answer for twilio."""
        url = self.rebase(url)
        if self._session is None:
            self._session = aiohttp.ClientSession()
        sent_headers = dict(headers or {})
        if auth is not None:
            pair = f"{auth[0]}:{auth[1]}".encode()
            sent_headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        async with self._session.request(
            method.upper(),
            url,
            params=_pairs(params),
            data=_pairs(data),
            headers=sent_headers,
            timeout=aiohttp.ClientTimeout(total=timeout or self.timeout),
            allow_redirects=allow_redirects,
        ) as answer:
            return Response(answer.status, await answer.text(), answer.headers)

    def rebase(self, url: str) -> str:
        """`url` moved onto `api_url` when that is not Twilio's own (any *.twilio.com host,
        since TWILIO_REGION / TWILIO_EDGE in the environment change the host name)."""
        if self.api_url == TWILIO_API_URL:
            return url
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.netloc.endswith("twilio.com"):
            return url
        return self.api_url + urlunsplit(("", "", parts.path, parts.query, ""))

    async def close(self) -> None:
        """Close the aiohttp session."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()


def _pairs(values: dict[str, object] | None) -> list[tuple[str, str]] | None:
    """Form/query pairs; a list value (MediaUrl, PersistentAction) becomes repeated keys."""
    if values is None:
        return None
    pairs: list[tuple[str, str]] = []
    for key, value in values.items():
        items = value if isinstance(value, list | tuple) else [value]
        pairs.extend((key, str(item)) for item in items)
    return pairs



def _error_code(value: str | None) -> int | None:
    # Twilio's error codes are five ASCII digits; str.isdigit would also pass "²", which int()
    # refuses, and thousands of digits, which it refuses too (or converts in quadratic time).
    if value is None or not value.strip():
        return None
    if not _ERROR_CODE.match(value.strip()):
        raise MalformedRequest("ErrorCode is not a Twilio error code")
    return int(value)


class TwilioSmsChannel:
    """Sends SMS with the twilio Client and reads Twilio's signed form webhooks."""

    name: Final[ChannelName] = "sms"
    info: Final[ChannelInfo] = SMS_INFO

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        from_number: str,
        public_url: str,
        api_url: str = TWILIO_API_URL,
        timeout: float = 10.0,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        """Build the adapter; the HTTP session opens in start() (aiohttp needs a running loop)."""
        self._account_sid = account_sid
        self._auth_token = auth_token
        self._from = from_number
        self._public_url = public_url.rstrip("/")
        self._api_url = api_url
        self._timeout = timeout
        self._clock = clock
        self._validator = RequestValidator(auth_token)
        self._http: RebasedAsyncHttpClient | None = None
        self._client: Any = None  # twilio.rest.Client; untyped library

    @property
    def status_callback_url(self) -> str:
        """Where Twilio posts delivery status for messages we send."""
        return self._public_url + STATUS_PATH

    async def start(self) -> None:
        """Open the aiohttp session behind the twilio client."""
        if self._client is not None:
            return
        self._http = RebasedAsyncHttpClient(self._api_url, timeout=self._timeout)
        self._client = Client(self._account_sid, self._auth_token, http_client=self._http)

    async def close(self) -> None:
        """Close the aiohttp session (twilio never closes it itself)."""
        http, self._http, self._client = self._http, None, None
        if http is not None:
            await http.close()

    async def __aenter__(self) -> TwilioSmsChannel:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def verify_and_parse(
        self, request_headers: Mapping[str, str], raw_body: bytes, url_path: str
    ) -> list[Inbound]:
        """Check X-Twilio-Signature against public_url + path, then parse the form."""
        signature = header(request_headers, SIGNATURE_HEADER)
        if not signature:
            raise ForgedRequest("missing Twilio signature")
        # Counted on the bytes, before decoding or splitting: a body of 500k empty fields
        # would otherwise cost its parse and a signature over all of them.
        if raw_body.count(b"&") >= MAX_FORM_FIELDS:
            raise MalformedRequest("more form fields than a Twilio webhook has")
        try:
            pairs = parse_qsl(
                raw_body.decode("utf-8"), keep_blank_values=True, strict_parsing=False
            )
        except UnicodeDecodeError as exc:
            raise MalformedRequest("form body is not UTF-8") from exc
        # A MultiDict keeps repeated keys, which the signature covers one by one.
        params: MultiDict[str] = MultiDict(pairs)
        if not self._signed(self._public_url + url_path, params, signature):
            raise ForgedRequest("wrong Twilio signature")
        path = url_path.split("?", 1)[0].rstrip("/")
        if path.endswith("/status"):
            return [self._status(params)]
        return [self._incoming(params)]

    def _signed(self, url: str, params: MultiDict[str], signature: str) -> bool:
        # Twilio signs the URL it called, which is ours as configured: one signature to
        # compute. `validate` also tries the URL with and without its port (two more), which
        # only a request that failed the first needs.
        return compare(self._validator.compute_signature(url, params), signature) \
            or bool(self._validator.validate(url, params, signature))

    def _incoming(self, params: MultiDict[str]) -> Inbound:
        sid = params.get("MessageSid") or params.get("SmsSid")
        sender = params.get("From")
        if not sid or not sender:
            raise MalformedRequest("inbound SMS without MessageSid or From")
        if not _SID.match(sid):
            raise MalformedRequest("MessageSid is not a Twilio sid")
        body = params.get("Body", "")
        media = params.get("NumMedia", "0")
        kind: InboundKind = "text"
        if not body.strip() and media not in ("", "0"):
            kind = "unsupported"
        return Inbound(
            provider="sms",
            provider_id=sid,
            address=tel_address(sender),
            kind=kind,
            received_at=self._clock(),
            text=body,
            opt_out_type=params.get("OptOutType") or None,
        )

    def _status(self, params: MultiDict[str]) -> Inbound:
        sid = params.get("MessageSid") or params.get("SmsSid")
        status = params.get("MessageStatus") or params.get("SmsStatus")
        recipient = params.get("To")
        if not sid or not status or not recipient:
            raise MalformedRequest("status callback without MessageSid, MessageStatus or To")
        if not _SID.match(sid) or not _STATUS.match(status):
            raise MalformedRequest("status callback with an odd MessageSid or MessageStatus")
        return Inbound(
            provider="sms",
            # One message gets several callbacks (queued, sent, delivered): the sid alone
            # would de-duplicate the later ones away.
            provider_id=f"{sid}:{status}",
            address=tel_address(recipient),
            kind="status",
            received_at=self._clock(),
            status_message_sid=sid,
            message_status=status,
            error_code=_error_code(params.get("ErrorCode")),
        )

    def units(self, message: OutgoingMessage) -> int:
        """A message costs its segments: a long code sends about one segment a second."""
        return segments(message.text)[1]

    def routes(self, intake: Intake) -> list[web.RouteDef]:
        """Inbound SMS and delivery status."""
        return sms_routes.routes(self, intake)

    async def follow_up(self, followup: Followup) -> None:
        """SMS has nothing to do after an input."""

    async def send(
        self, address: str, message: OutgoingMessage, *, idempotency_key: str
    ) -> SendResult:
        """Create the Message at Twilio with our status callback.

        Twilio's Messages API has no idempotency key: a Retry after a timeout may send twice.
        """
        try:
            to = tel_number(address)
        except ValueError:
            return Failed(reason="invalid_address")
        body = render_sms(message)
        if not body:
            return Failed(reason="empty_message")
        if len(body) > MAX_BODY:
            return Failed(reason="too_long")
        await self.start()
        try:
            created = await self._client.messages.create_async(
                to=to, from_=self._from, body=body, status_callback=self.status_callback_url
            )
        except _CALL_ERRORS as exc:
            return map_twilio_error(exc)
        return Sent(provider_message_id=str(created.sid))

    async def sent_matching(
        self, address: str, message: OutgoingMessage, *, since: datetime
    ) -> list[str] | None:
        """Sids of messages Twilio holds from us to `address` with this body, created since
        `since`, oldest first; None when Twilio could not be asked (then do not send blind).

        Twilio's Messages API takes no idempotency key, so after a crash between its answer and
        our commit this is the only way to learn whether a message went out. The `DateSent`
        filter works on whole GMT dates of when a message *left* Twilio, and a message still
        queued has no `date_sent` at all; so this reads every message sent since the date of
        `since` plus the newest page unfiltered (where queued ones are), and filters precisely
        here on sender, recipient, direction, body and creation time.
        """
        try:
            to = tel_number(address)
        except ValueError:
            return []
        body = render_sms(message)
        since = since - CLOCK_SKEW
        await self.start()
        try:
            dated = await self._client.messages.list_async(
                to=to, from_=self._from, date_sent_after=since.strftime("%Y-%m-%d"),
                limit=LOOKUP_LIMIT, page_size=RECENT_PAGE * 2,
            )
            recent = await self._client.messages.list_async(
                to=to, from_=self._from, limit=RECENT_PAGE, page_size=RECENT_PAGE
            )
        except _CALL_ERRORS:
            return None
        found: dict[str, datetime] = {}
        for sent in (*dated, *recent):
            created = sent.date_created
            if (
                sent.sid
                and created is not None
                and created >= since
                and str(sent.direction or "").startswith("outbound")
                and sent.to == to
                and sent.from_ == self._from
                and sent.body in (body, TRIAL_PREFIX + body)
            ):
                found[str(sent.sid)] = created
        return sorted(found, key=lambda sid: (found[sid], sid))
