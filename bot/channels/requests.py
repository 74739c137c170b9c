"""A provider's request to a channel's route, verified and parsed, or answered 403/400."""

from __future__ import annotations

from aiohttp import web

from bot.channels.base import ForgedRequest, Handler, Inbound, MalformedRequest


async def verified(channel: Handler, request: web.Request, *,
                   forged: type[web.HTTPException] = web.HTTPForbidden) -> list[Inbound]:
    """The request's messages; a forged one is refused (`forged`, 403 unless the route says
    otherwise) and a malformed one is a 400, both before anything is stored."""
    body = await request.read()
    try:
        return await channel.verify_and_parse(request.headers, body, request.path_qs)
    except ForgedRequest:
        raise forged(text="forbidden" if forged is web.HTTPForbidden else "unknown") from None
    except MalformedRequest:
        raise web.HTTPBadRequest(text="malformed request") from None
