"""Telegram's webhook route: verify the secret, hand the parsed Update to the inbound stage."""

from __future__ import annotations

from dataclasses import replace

from aiohttp import web

from bot.channels.base import Handler, Intake
from bot.channels.requests import verified

PATH = "/webhooks/telegram"


def routes(channel: Handler, intake: Intake) -> list[web.RouteDef]:
    """POST /webhooks/telegram: answered 200 only once the Update is stored."""

    async def telegram_webhook(request: web.Request) -> web.Response:
        inbounds = await verified(channel, request)
        # A tapped button's spinner stops with the webhook's own answer (the Bot API takes a
        # method in the reply to a webhook): one request fewer per tap than calling it after.
        query = next((i.callback_query_id for i in inbounds if i.callback_query_id), None)
        if query is not None:
            inbounds = [replace(i, callback_query_id=None) if i.callback_query_id == query
                        else i for i in inbounds]
        await intake.accept(inbounds)
        if query is None:
            return web.Response(status=200)
        return web.json_response({"method": "answerCallbackQuery",
                                  "callback_query_id": query})

    return [web.post(PATH, telegram_webhook)]
