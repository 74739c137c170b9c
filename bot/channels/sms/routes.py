"""Twilio's webhook routes: inbound SMS and delivery status, both signed, both answered TwiML."""

from __future__ import annotations

from aiohttp import web

from bot.channels.base import ForgedRequest, Handler, Inbound, Intake, MalformedRequest

SMS_PATH = "/webhooks/twilio/sms"
STATUS_PATH = "/webhooks/twilio/status"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


async def _verified(channel: Handler, request: web.Request) -> list[Inbound]:
    body = await request.read()
    try:
        return await channel.verify_and_parse(request.headers, body, request.path_qs)
    except ForgedRequest:
        raise web.HTTPForbidden(text="forbidden") from None
    except MalformedRequest:
        raise web.HTTPBadRequest(text="malformed request") from None


def routes(channel: Handler, intake: Intake) -> list[web.RouteDef]:
    """POST /webhooks/twilio/sms (stored before the answer) and /webhooks/twilio/status."""

    async def twilio_sms_webhook(request: web.Request) -> web.Response:
        await intake.accept(await _verified(channel, request))
        return web.Response(text=EMPTY_TWIML, content_type="text/xml")

    async def twilio_status_webhook(request: web.Request) -> web.Response:
        for inbound in await _verified(channel, request):
            if inbound.kind == "status":
                await intake.delivery_status(inbound)
        return web.Response(text=EMPTY_TWIML, content_type="text/xml")

    return [web.post(SMS_PATH, twilio_sms_webhook),
            web.post(STATUS_PATH, twilio_status_webhook)]
