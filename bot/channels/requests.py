"""A provider's request to a channel's route: size-checked, verified and parsed, or refused.

In this order, each step cheap before the next costs anything: a body longer than the route's
limit is a 413 (read no further than the limit), a forged request a 403, and a body the
provider could not have sent a 400; nothing is stored for any of them.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Final

from aiohttp import web

from bot.channels.base import ForgedRequest, Handler, Inbound, MalformedRequest

# The largest body each channel's provider sends, with room to spare; the app-wide
# client_max_size is not relied on (it only guards request.read()).
# Telegram: a message (4,096 characters, 100 entities) with the message it replies to, or a
# button's message with its keyboard, is tens of KB even with every character escaped.
# Twilio: a form of about 40 fields, the SMS body at most 1,600 characters.
# Web chat: the page's form, one field of at most 4,096 characters (MAX_INPUT).
BODY_LIMITS: Final[dict[str, int]] = {
    "telegram": 512 * 1024,
    "sms": 64 * 1024,
    "webchat": 64 * 1024,
}
DEFAULT_LIMIT: Final = 64 * 1024
_CHUNK: Final = 16 * 1024
# As long as the inbox's provider_id column (storage/models/messaging.py).
MAX_PROVIDER_ID: Final = 80
_TEXT_FIELDS: Final = tuple(f.name for f in fields(Inbound) if f.name != "received_at")


def body_limit(channel: Handler) -> int:
    """The most bytes a request to `channel`'s routes may carry."""
    return BODY_LIMITS.get(channel.name, DEFAULT_LIMIT)


def _too_large(limit: int, size: int) -> web.HTTPRequestEntityTooLarge:
    return web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=size,
                                         text="request body too large")


async def bounded_body(request: web.Request, limit: int) -> bytes:
    """The request's body, or a 413 once it is known to be longer than `limit` bytes.

    A declared Content-Length over the limit is refused before a byte of the body is read; a
    chunked (or shorter-declared) body is read in pieces and refused as soon as it passes the
    limit, so at most `limit` + 1 bytes are ever taken from the stream.
    """
    declared = request.content_length
    if declared is not None and declared > limit:
        raise _too_large(limit, declared)
    body = bytearray()
    while True:
        piece = await request.content.read(min(_CHUNK, limit + 1 - len(body)))
        if not piece:
            return bytes(body)
        body += piece
        if len(body) > limit:
            raise _too_large(limit, len(body))


def _storable(inbound: Inbound) -> bool:
    # What a provider sends is valid UTF-8 (a lone surrogate from a JSON escape is not), and
    # the de-duplication key fits its column: anything else would fail at the commit, a 500.
    if len(inbound.provider_id) > MAX_PROVIDER_ID:
        return False
    for name in _TEXT_FIELDS:
        value = getattr(inbound, name)
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return False
    return True


async def verified(channel: Handler, request: web.Request, *,
                   forged: type[web.HTTPException] = web.HTTPForbidden,
                   limit: int | None = None) -> list[Inbound]:
    """The request's messages; a body over the limit (`limit`, else the channel's) is a 413,
    a forged request is refused (`forged`, 403 unless the route says otherwise) and a
    malformed one is a 400, all before anything is stored."""
    body = await bounded_body(request, body_limit(channel) if limit is None else limit)
    try:
        inbounds = await channel.verify_and_parse(request.headers, body, request.path_qs)
    except ForgedRequest:
        raise forged(text="forbidden" if forged is web.HTTPForbidden else "unknown") from None
    except MalformedRequest:
        raise web.HTTPBadRequest(text="malformed request") from None
    if not all(_storable(inbound) for inbound in inbounds):
        raise web.HTTPBadRequest(text="malformed request")
    return inbounds
