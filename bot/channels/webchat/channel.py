"""Web chat channel: form posts in; sending only hands the message back for the page to show."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Final
from urllib.parse import parse_qs

from aiohttp import web

from bot.channels.base import (
    ChannelInfo,
    ChannelName,
    Failed,
    Followup,
    ForgedRequest,
    Inbound,
    Intake,
    MalformedRequest,
    SendResult,
    Sent,
    utc_now,
)
from bot.channels.webchat.info import WEBCHAT_INFO
from bot.flows.messages import OutgoingMessage

MAX_INPUT: Final = 4096  # as long as a Telegram message; a longer post is refused (400)
# The page's ids are 16 characters; at most 40 keeps "<participant>:<id>" within the inbox's
# 80-character provider id.
_CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{8,40}$")
_CHAT_PATH = re.compile(r"^/chat/([^/?#]+)")

# Maps the chat token in /chat/{token} to a participant id, or None when the token is unknown.
TokenResolver = Callable[[str], Awaitable[str | None]]



class WebChatChannel:
    """A participant's chat page; the lead's route checks the CSRF field before calling this."""

    name: Final[ChannelName] = "webchat"
    info: Final[ChannelInfo] = WEBCHAT_INFO

    def __init__(
        self, *, resolve_token: TokenResolver, clock: Callable[[], datetime] = utc_now
    ) -> None:
        """`resolve_token` turns the page's token into a participant id (None = unknown)."""
        self._resolve = resolve_token
        self._clock = clock

    async def start(self) -> None:
        """Nothing to open."""

    async def close(self) -> None:
        """Nothing to close."""

    async def verify_and_parse(
        self, request_headers: Mapping[str, str], raw_body: bytes, url_path: str
    ) -> list[Inbound]:
        """Parse a form post with `text` or `choice`, and an optional client `msg_id`."""
        match = _CHAT_PATH.match(url_path)
        participant = await self._resolve(match[1]) if match else None
        if participant is None:
            raise ForgedRequest("unknown chat token")
        try:
            # The page posts at most three fields; a body of thousands costs time to split.
            form = parse_qs(raw_body.decode("utf-8"), keep_blank_values=True,
                            max_num_fields=8)
        except UnicodeDecodeError as exc:
            raise MalformedRequest("form body is not UTF-8") from exc
        except ValueError as exc:  # parse_qs: more fields than max_num_fields
            raise MalformedRequest("too many form fields") from exc
        choice = (form.get("choice") or [""])[0]
        text = (form.get("text") or [""])[0]
        if len(choice) > MAX_INPUT or len(text) > MAX_INPUT:
            raise MalformedRequest("input too long")
        # The page sends a fresh id per submit so a double click is stored once.
        client_id = (form.get("msg_id") or [""])[0]
        # Scoped to the participant, so one person's ids can never collide with another's.
        unique = client_id if _CLIENT_ID.match(client_id) else uuid.uuid4().hex
        provider_id = f"{participant}:{unique}"
        if choice:
            return [
                Inbound(
                    provider="webchat",
                    provider_id=provider_id,
                    address=f"webchat:{participant}",
                    kind="button",
                    received_at=self._clock(),
                    button_data=choice,
                )
            ]
        if not text.strip():
            return []
        return [
            Inbound(
                provider="webchat",
                provider_id=provider_id,
                address=f"webchat:{participant}",
                kind="text",
                received_at=self._clock(),
                text=text,
            )
        ]

    def units(self, message: OutgoingMessage) -> int:
        """No provider limit: every message counts once."""
        return 1

    def routes(self, intake: Intake) -> list[web.RouteDef]:
        """The participant's page."""
        from bot.channels.webchat import page  # the page renders; the channel only parses

        return page.routes(self, intake)

    async def follow_up(self, followup: Followup) -> None:
        """The page shows the next question itself: nothing to do."""

    async def send(
        self, address: str, message: OutgoingMessage, *, idempotency_key: str
    ) -> SendResult:
        """Accept the message; the lead stores it and the page renders it."""
        if not address.startswith("webchat:") or len(address) == len("webchat:"):
            return Failed(reason="invalid_address")
        # Derived from the key, so sending the same outbox row twice yields the same id.
        return Sent(provider_message_id=f"webchat-{idempotency_key}")
