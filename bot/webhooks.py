"""Webhook routes: verify, store durably (once per provider id), acknowledge, then process."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import web
from sqlalchemy import Engine
from sqlmodel import Session

from bot.channels.base import ForgedRequest, Handler, Inbound, MalformedRequest
from bot.channels.twilio_sms import empty_twiml
from bot.coalesce import Coalescer
from consent.withdrawal import withdraw
from storage.models import Participant, utcnow
from storage.repo.outbox import mark_delivery
from storage.vault import Vault

# Called with the ids of newly stored inbox rows, after their commit.
OnStored = Callable[[list[str]], Awaitable[None]]

CHANNELS = web.AppKey("channels", dict)
ENGINE = web.AppKey("engine", Engine)
VAULT = web.AppKey("vault", Vault)
ON_STORED = web.AppKey("on_stored", object)
TASKS = web.AppKey("background_tasks", set)
STORE = web.AppKey("inbox_store", Coalescer)


async def _verified(request: web.Request, name: str) -> list[Inbound]:
    channel: Handler | None = request.app[CHANNELS].get(name)
    if channel is None:
        raise web.HTTPNotFound(text=f"the {name} channel is not configured")
    body = await request.read()
    try:
        return await channel.verify_and_parse(request.headers, body, request.path_qs)
    except ForgedRequest:
        raise web.HTTPForbidden(text="forbidden") from None
    except MalformedRequest:
        raise web.HTTPBadRequest(text="malformed request") from None


async def _store_and_schedule(request: web.Request, inbounds: list[Inbound]) -> None:
    app = request.app
    new_ids = [row_id for row_id in await app[STORE].submit(inbounds) if row_id]
    on_stored = app[ON_STORED]
    if new_ids and callable(on_stored):
        # Processing runs after the answer; the task set keeps a reference until it is done.
        task = asyncio.create_task(on_stored(new_ids))
        app[TASKS].add(task)
        task.add_done_callback(app[TASKS].discard)


async def telegram_webhook(request: web.Request) -> web.Response:
    """POST /webhooks/telegram: a Telegram Update."""
    inbounds = await _verified(request, "telegram")
    await _store_and_schedule(request, inbounds)
    return web.Response(status=200)


async def twilio_sms_webhook(request: web.Request) -> web.Response:
    """POST /webhooks/twilio/sms: an inbound SMS; answered with empty TwiML."""
    inbounds = await _verified(request, "sms")
    await _store_and_schedule(request, inbounds)
    return web.Response(text=empty_twiml(), content_type="text/xml")


def apply_status(engine: Engine, inbound: Inbound) -> None:
    """Update the outbox row a Twilio status callback is about; 21610 withdraws the person."""
    if not inbound.status_message_sid or not inbound.message_status:
        return
    with Session(engine) as session:
        row = mark_delivery(session, inbound.status_message_sid, inbound.message_status,
                            f"twilio:{inbound.error_code}" if inbound.error_code else None)
        if row is not None and inbound.error_code == 21610 and row.participant_id:
            person = session.get(Participant, row.participant_id)
            if person is not None and person.status != "withdrawn":
                withdraw(session, person, at=utcnow(), via="sms:21610",
                         recorded_by="provider:sms")
        session.commit()


async def twilio_status_webhook(request: web.Request) -> web.Response:
    """POST /webhooks/twilio/status: delivery status of a message we sent."""
    inbounds = await _verified(request, "sms")
    for inbound in inbounds:
        if inbound.kind == "status":
            await asyncio.to_thread(apply_status, request.app[ENGINE], inbound)
    return web.Response(text=empty_twiml(), content_type="text/xml")


def add_routes(app: web.Application) -> None:
    """Register the webhook routes."""
    app.router.add_post("/webhooks/telegram", telegram_webhook)
    app.router.add_post("/webhooks/twilio/sms", twilio_sms_webhook)
    app.router.add_post("/webhooks/twilio/status", twilio_status_webhook)
