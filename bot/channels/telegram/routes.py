"""Telegram's webhook route: verify the secret, hand the parsed Update to the inbound stage."""

from __future__ import annotations

from aiohttp import web

from bot.channels.base import ForgedRequest, Handler, Intake, MalformedRequest

PATH = "/webhooks/telegram"


def routes(channel: Handler, intake: Intake) -> list[web.RouteDef]:
    """POST /webhooks/telegram: answered 200 only once the Update is stored."""

    async def telegram_webhook(request: web.Request) -> web.Response:
        body = await request.read()
        try:
            inbounds = await channel.verify_and_parse(request.headers, body, request.path_qs)
        except ForgedRequest:
            raise web.HTTPForbidden(text="forbidden") from None
        except MalformedRequest:
            raise web.HTTPBadRequest(text="malformed request") from None
        await intake.accept(inbounds)
        return web.Response(status=200)

    return [web.post(PATH, telegram_webhook)]
