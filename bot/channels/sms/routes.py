"""Twilio's webhook routes: inbound SMS and delivery status, both signed, both answered TwiML."""

from __future__ import annotations

from aiohttp import web

from bot.channels.base import Handler, Intake
from bot.channels.requests import verified

SMS_PATH = "/webhooks/twilio/sms"
STATUS_PATH = "/webhooks/twilio/status"
# The TwiML answer that tells Twilio "received, no reply from here".
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def routes(channel: Handler, intake: Intake) -> list[web.RouteDef]:
    """POST /webhooks/twilio/sms (stored before the answer) and /webhooks/twilio/status."""

    async def twilio_sms_webhook(request: web.Request) -> web.Response:
        await intake.accept(await verified(channel, request))
        return web.Response(text=EMPTY_TWIML, content_type="text/xml")

    async def twilio_status_webhook(request: web.Request) -> web.Response:
        for inbound in await verified(channel, request):
            if inbound.kind == "status":
                await intake.delivery_status(inbound)
        return web.Response(text=EMPTY_TWIML, content_type="text/xml")

    return [web.post(SMS_PATH, twilio_sms_webhook),
            web.post(STATUS_PATH, twilio_status_webhook)]
