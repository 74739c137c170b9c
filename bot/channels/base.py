"""The channel Handler interface: inbound records, send results, addresses and request errors.

Exceptions raised by ``verify_and_parse``::

    ChannelError
    ├── ForgedRequest     the request is not from the provider (answer 403, store nothing)
    └── MalformedRequest  authentic or not, it cannot be parsed (answer 400, store nothing)

``send`` never raises for provider trouble: it returns one of ``Sent``, ``Retry``, ``Stop`` or
``Failed`` (see ``bot/channels/errors.py`` for the one place provider errors are mapped).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar, Literal, Protocol

from aiohttp import web

from bot.flows.messages import Capabilities, OutgoingMessage

ChannelName = Literal["telegram", "sms", "webchat"]

InboundKind = Literal[
    "text",  # a typed message
    "button",  # a tapped inline button; `button_data` is the Choice.data
    "command_start",  # /start, `start_token` set only when the payload is a valid token
    "command",  # any other slash command (/stop, /help); `command` names it, `text` is verbatim
    "status",  # a delivery status callback (Twilio)
    "blocked",  # the person blocked the bot (Telegram my_chat_member "kicked")
    "unblocked",  # the person unblocked (or restarted) the bot (my_chat_member "member")
    "unsupported",  # a photo, sticker, voice note...: the person may deserve a kind reply
]


class ChannelError(Exception):
    """Base of the errors a channel raises while reading a provider request."""


class ForgedRequest(ChannelError):
    """The request does not carry a valid provider signature or secret (HTTP 403)."""


class MalformedRequest(ChannelError):
    """The request body cannot be parsed as the provider's payload (HTTP 400)."""


@dataclass(frozen=True, slots=True)
class Inbound:
    """One thing a provider told us: a message, a button press, a command or a status."""

    provider: ChannelName
    provider_id: str  # de-duplication key together with `provider`
    address: str  # telegram:<chat_id> | tel:+45... | webchat:<participant>
    kind: InboundKind
    received_at: datetime  # when we received it (UTC)
    text: str = ""
    button_data: str | None = None
    callback_query_id: str | None = None  # answer it so the button stops spinning
    prompt_message_id: str | None = None  # the message whose keyboard was tapped
    command: str | None = None  # "start", "stop", "help" (lower case, no slash, no @bot)
    start_token: str | None = None  # invite token of /start, already checked for shape
    status_message_sid: str | None = None  # Twilio MessageSid of the message a status is about
    message_status: str | None = None  # queued | sent | delivered | undelivered | failed
    error_code: int | None = None  # Twilio ErrorCode (21610 = recipient opted out)
    opt_out_type: str | None = None  # Twilio Advanced Opt-Out: STOP | START | HELP
    language: str | None = None  # the person's client language (Telegram language_code)
    sent_at: datetime | None = None  # the provider's own timestamp, when it gives one


@dataclass(frozen=True, slots=True)
class Sent:
    """The provider accepted the message."""

    outcome: ClassVar[str] = "sent"
    provider_message_id: str  # the last part's id (the one carrying the keyboard)
    part_ids: tuple[str, ...] = ()  # every part's id when a long text was split


@dataclass(frozen=True, slots=True)
class Retry:
    """A passing problem: try again after `after_seconds` (it may have been delivered once)."""

    outcome: ClassVar[str] = "retry"
    after_seconds: float
    reason: str  # rate_limited | timeout | network | server_error


@dataclass(frozen=True, slots=True)
class Stop:
    """The person cannot or will not receive messages here: stop sending to this address."""

    outcome: ClassVar[str] = "stop"
    reason: Literal["blocked", "opted_out"]


@dataclass(frozen=True, slots=True)
class Failed:
    """This message will never go through as it is; do not retry it."""

    outcome: ClassVar[str] = "failed"
    reason: str  # bad_request | invalid_address | invalid_message | too_long | ...


SendResult = Sent | Retry | Stop | Failed


@dataclass(frozen=True, slots=True)
class ChannelInfo:
    """What a channel can show and how fast it may be driven (None = no limit we know of)."""

    capabilities: Capabilities
    messages_per_second: float | None = None  # overall, per bot / sender
    per_address_per_second: float | None = None  # per chat, over a minute
    per_address_burst: int = 1  # messages one chat may get at once (then the rate holds)
    segments_per_second: float | None = None  # SMS: a long code sends about 1 segment/s


@dataclass(frozen=True, slots=True)
class Followup:
    """Provider calls that belong to one processed input and are not messages: stop a tapped
    button's spinner, take an answered question's buttons away."""

    address: str
    callback_query_id: str | None = None
    prompt_message_id: str | None = None


class Intake(Protocol):
    """Where a channel's routes hand what they parsed: the inbound stage."""

    async def accept(self, inbounds: list[Inbound]) -> None:
        """Store durably (return only after the commit), then process in the background."""
        ...

    async def accept_and_reply(self, inbounds: list[Inbound], channel: ChannelName) -> None:
        """Store, process and send `channel`'s replies before returning (the web-chat page)."""
        ...

    async def delivery_status(self, inbound: Inbound) -> None:
        """Record a provider's delivery report on a message we sent."""
        ...


class Handler(Protocol):
    """A channel adapter: transport only, no storage and no conversation state."""

    @property
    def name(self) -> ChannelName:
        """The channel's name, also the `provider` of its Inbound records."""
        ...

    @property
    def info(self) -> ChannelInfo:
        """Capabilities and rate limits."""
        ...

    async def start(self) -> None:
        """Open network clients; call once inside the running event loop."""
        ...

    async def close(self) -> None:
        """Close network clients; safe to call twice."""
        ...

    async def verify_and_parse(
        self, request_headers: Mapping[str, str], raw_body: bytes, url_path: str
    ) -> list[Inbound]:
        """Check the request is the provider's and turn it into Inbound records."""
        ...

    async def send(
        self, address: str, message: OutgoingMessage, *, idempotency_key: str
    ) -> SendResult:
        """Send one message; never raises for provider trouble."""
        ...

    def units(self, message: OutgoingMessage) -> int:
        """How much of the provider's rate one message uses (SMS: its segments)."""
        ...

    def routes(self, intake: Intake) -> list[web.RouteDef]:
        """The channel's webhook routes, handing what they parse to `intake`."""
        ...

    async def follow_up(self, followup: Followup) -> None:
        """The provider calls one processed input asks for besides messages (may do none)."""
        ...


_TEL = re.compile(r"^\+[1-9][0-9]{6,14}$")
_CHAT_ID = re.compile(r"^-?[0-9]{1,20}$")


def telegram_address(chat_id: int | str) -> str:
    """The URN of a Telegram chat."""
    return f"telegram:{chat_id}"


def tel_address(number: str) -> str:
    """The URN of a phone number in E.164 form."""
    return f"tel:{number}"


def telegram_chat_id(address: str) -> int:
    """The chat id of a `telegram:` URN; ValueError when it is not one."""
    scheme, _, value = address.partition(":")
    if scheme != "telegram" or not _CHAT_ID.match(value):
        raise ValueError("not a telegram: address")
    return int(value)


def tel_number(address: str) -> str:
    """The E.164 number of a `tel:` URN; ValueError when it is not one."""
    scheme, _, value = address.partition(":")
    if scheme != "tel" or not _TEL.match(value):
        raise ValueError("not a tel: address in E.164 form")
    return value


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header's value, looked up without regard to case (plain dicts are not case-blind)."""
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    for key, candidate in headers.items():
        if key.lower() == lowered:
            return candidate
    return None


def utc_now() -> datetime:
    """The adapters' default clock (tests pass their own)."""
    return datetime.now(UTC)
