"""Telegram channel: python-telegram-bot as transport only (no Updater, handlers, persistence)."""

from __future__ import annotations

import functools
import json
import secrets
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Final

from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, TelegramError
from telegram.request import HTTPXRequest

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
    header,
    telegram_chat_id,
    utc_now,
)
from bot.channels.errors import map_telegram_error
from bot.channels.telegram import routes as telegram_routes
from bot.channels.telegram.http import AiohttpRequest
from bot.channels.telegram.info import TELEGRAM_INFO
from bot.channels.telegram.updates import parse_update
from bot.channels.text import split_text
from bot.flows.messages import Choice, Layout, OutgoingMessage

SECRET_HEADER: Final = "X-Telegram-Bot-Api-Secret-Token"
MAX_CALLBACK_DATA: Final = 64  # bytes, UTF-8
# Updates the webhook asks for: what parse_update understands, nothing more.
ALLOWED_UPDATES: Final = ("message", "callback_query", "my_chat_member")

# Bad requests that mean "already done" when removing a keyboard: not worth a retry or an alarm.
_HARMLESS_EDIT_ERRORS = ("message is not modified", "message to edit not found")
# An Update's integers are ids and Unix times, all within 64 bits (20 characters with a sign):
# a longer one is refused before Python converts it, whatever PYTHONINTMAXSTRDIGITS says.
MAX_INT_CHARS: Final = 20


def _bounded_int(text: str) -> int:
    if len(text) > MAX_INT_CHARS:
        raise ValueError("integer too long for an Update")
    return int(text)


def _no_constant(text: str) -> float:
    raise ValueError(f"{text} is not JSON a provider sends")



def keyboard_rows(message: OutgoingMessage) -> list[list[Choice]]:
    """Lay out the abstract choices in rows, the quiet ones last, each on its own row."""
    return _answer_rows(message) + [[choice] for choice in message.aside]


def _answer_rows(message: OutgoingMessage) -> list[list[Choice]]:
    choices = list(message.choices)
    for choice in (*choices, *message.aside):
        if len(choice.data.encode("utf-8")) > MAX_CALLBACK_DATA:
            raise ValueError(f"callback data longer than {MAX_CALLBACK_DATA} bytes")
        if not choice.data:
            raise ValueError("empty callback data")
    if not choices:
        return []
    if message.layout == "scale":
        # 0-10 is eleven buttons: 0-5 on top, 6-10 below, wide enough to tap on a phone.
        split = (len(choices) + 1) // 2
        return [choices[:split], choices[split:]]
    if message.layout in ("faces", "yes_no"):
        return [choices]
    return [[choice] for choice in choices]  # "list" (and choices under "none"): one per row


def render_keyboard(message: OutgoingMessage) -> InlineKeyboardMarkup | None:
    """The inline keyboard for a message, or None when it has no choices."""
    return _keyboard(message.choices, message.aside, message.layout)


@functools.lru_cache(maxsize=512)
def _keyboard(choices: tuple[Choice, ...], aside: tuple[Choice, ...],
              layout: Layout) -> InlineKeyboardMarkup | None:
    # Built once per distinct keyboard: every child's scale question has the same buttons,
    # and building PTB's (frozen, so shareable) objects cost a tenth of the server's time.
    rows = keyboard_rows(OutgoingMessage("", choices, layout, aside=aside))
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text=c.label, callback_data=c.data) for c in row] for row in rows]
    )



class TelegramChannel:
    """Sends through the Bot API and reads webhook updates checked against the secret token."""

    name: Final[ChannelName] = "telegram"
    info: Final[ChannelInfo] = TELEGRAM_INFO

    def __init__(
        self,
        *,
        token: str,
        webhook_secret: str,
        api_url: str = "https://api.telegram.org",
        timeout: float = 10.0,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        """Build the adapter; nothing touches the network until start() or the first send."""
        if not webhook_secret:
            raise ValueError("a webhook secret is required")
        api_url = api_url.rstrip("/")
        # PTB appends the token to base_url: ".../bot" + token + "/sendMessage".
        request = AiohttpRequest(connections=64, timeout=timeout)
        self._bot = Bot(
            token,
            base_url=f"{api_url}/bot",
            base_file_url=f"{api_url}/file/bot",
            request=request,
            # getUpdates is unused (webhooks), but PTB builds a client for it anyway; keep it
            # small and with the same timeouts.
            get_updates_request=HTTPXRequest(
                connection_pool_size=1,
                connect_timeout=timeout,
                read_timeout=timeout,
                write_timeout=timeout,
                pool_timeout=timeout,
            ),
        )
        self._secret = webhook_secret.encode("utf-8")
        self._clock = clock
        self._started = False

    @property
    def bot(self) -> Bot:
        """The underlying PTB Bot, for set-up calls this adapter does not wrap."""
        return self._bot

    async def start(self) -> None:
        """Open the HTTP clients and check the token with getMe."""
        if self._started:
            return
        try:
            await self._bot.initialize()
        except BaseException:
            await self._bot.shutdown()  # do not leak the httpx clients opened before getMe
            raise
        self._started = True

    async def username(self) -> str | None:
        """The bot's username: getMe is asked when the channel starts, and its answer kept."""
        await self.start()
        return self._bot.bot.username or None

    async def close(self) -> None:
        """Close the HTTP clients."""
        self._started = False
        await self._bot.shutdown()

    async def __aenter__(self) -> TelegramChannel:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def verify_and_parse(
        self, request_headers: Mapping[str, str], raw_body: bytes, url_path: str
    ) -> list[Inbound]:
        """Check the secret header, then parse the Update."""
        given = header(request_headers, SECRET_HEADER)
        # compare_digest on bytes: on str it raises for non-ASCII input instead of saying False.
        if given is None or not secrets.compare_digest(given.encode("utf-8"), self._secret):
            raise ForgedRequest("missing or wrong Telegram secret token")
        try:
            data = json.loads(raw_body, parse_int=_bounded_int, parse_constant=_no_constant)
        except (ValueError, RecursionError) as exc:
            # ValueError covers bad JSON, bad UTF-8 and numbers no Update holds; RecursionError
            # is nesting deeper than the interpreter's limit (an Update nests a few levels).
            raise MalformedRequest("body is not an Update's JSON") from exc
        return parse_update(data, received_at=self._clock())

    async def send(
        self, address: str, message: OutgoingMessage, *, idempotency_key: str
    ) -> SendResult:
        """Send text plus inline keyboard; long text goes in parts, the keyboard on the last.

        The Bot API has no idempotency key: a Retry after a timeout may deliver twice, and a
        Retry after part 1 of 2 went out repeats part 1.
        """
        try:
            chat_id = telegram_chat_id(address)
        except ValueError:
            return Failed(reason="invalid_address")
        try:
            markup = render_keyboard(message)
        except ValueError:
            return Failed(reason="invalid_message")
        if not message.text.strip():
            return Failed(reason="empty_message")
        parts = split_text(message.text, self.info.capabilities.max_length)
        ids: list[str] = []
        try:
            await self.start()
            for index, part in enumerate(parts):
                sent = await self._bot.send_message(
                    chat_id=chat_id,
                    text=part,
                    reply_markup=markup if index == len(parts) - 1 else None,
                )
                ids.append(str(sent.message_id))
        except (TelegramError, OSError, TimeoutError) as exc:
            return map_telegram_error(exc)
        return Sent(provider_message_id=ids[-1], part_ids=tuple(ids))

    def units(self, message: OutgoingMessage) -> int:
        """Every message counts once against the Bot API's limits."""
        return 1

    def routes(self, intake: Intake) -> list[web.RouteDef]:
        """The webhook."""
        return telegram_routes.routes(self, intake)

    async def follow_up(self, followup: Followup) -> None:
        """Stop the tapped button's spinner, then take the answered question's buttons away."""
        if followup.callback_query_id:
            await self.answer_callback_query(followup.callback_query_id)
        if followup.prompt_message_id:
            await self.remove_keyboard(followup.address, followup.prompt_message_id)

    async def answer_callback_query(
        self, callback_query_id: str, text: str | None = None
    ) -> SendResult:
        """Stop the tapped button's spinner (Telegram shows it until the query is answered)."""
        try:
            await self.start()
            await self._bot.answer_callback_query(callback_query_id, text=text)
        except BadRequest:
            # "query is too old": nothing left to stop; the answer itself was recorded.
            return Sent(provider_message_id=callback_query_id)
        except (TelegramError, OSError, TimeoutError) as exc:
            return map_telegram_error(exc)
        return Sent(provider_message_id=callback_query_id)

    async def remove_keyboard(self, address: str, message_id: str) -> SendResult:
        """Remove the keyboard of an answered prompt so it cannot be tapped twice."""
        try:
            chat_id = telegram_chat_id(address)
            prompt_id = int(message_id)
        except ValueError:
            return Failed(reason="invalid_address")
        try:
            await self.start()
            await self._bot.edit_message_reply_markup(
                chat_id=chat_id, message_id=prompt_id, reply_markup=None
            )
        except BadRequest as exc:
            if any(text in str(exc).lower() for text in _HARMLESS_EDIT_ERRORS):
                return Sent(provider_message_id=message_id)
            return map_telegram_error(exc)
        except (TelegramError, OSError, TimeoutError) as exc:
            return map_telegram_error(exc)
        return Sent(provider_message_id=message_id)

    async def set_webhook(
        self, url: str, *, allowed_updates: Sequence[str] = ALLOWED_UPDATES
    ) -> None:
        """Point Telegram at our webhook, with the secret it must echo in every request."""
        await self.start()
        await self._bot.set_webhook(
            url=url,
            secret_token=self._secret.decode("utf-8"),
            allowed_updates=list(allowed_updates),
        )

    async def delete_webhook(self) -> None:
        """Stop webhook delivery (pending updates are kept)."""
        await self.start()
        await self._bot.delete_webhook(drop_pending_updates=False)
