"""An in-process Stemme (the real app, routes and services) wired to the fake providers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from sqlmodel import Session, col, func, select

from bot.runtime.app import create_app
from bot.runtime.parts import Runtime
from bot.runtime.services import Services
from bot.runtime.settings import Settings
from consent import agreements
from storage.migrate import upgrade
from storage.models import Answer, InboxMessage, OutboxMessage, Participant, utcnow
from storage.repo import cases, invites
from storage.repo.users import create_user
from tests.fakes.fixtures import (
    TELEGRAM_SECRET,
    TELEGRAM_TOKEN,
    TWILIO_ACCOUNT_SID,
    TWILIO_AUTH_TOKEN,
    TWILIO_FROM,
)
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.twilio_api import FakeTwilioAPI
from tests.fakes.webhooks import telegram_request, twilio_form, twilio_request

PUBLIC_URL = "https://stemme.example.org"


def settings_for(tmp: Path, db_url: str, tg: FakeTelegramAPI, tw: FakeTwilioAPI,
                 **extra: Any) -> Settings:
    """Settings pointing every channel at the fakes; quiet hours off so tests run any time.

    `extra` adds settings or replaces these (e.g. telegram_bot_username=None: ask getMe).
    """
    values: dict[str, Any] = dict(
        data_dir=tmp / "data", database_url=db_url, key_file=tmp / "data" / "keys.json",
        public_url=PUBLIC_URL, quiet_hours="", sweep_seconds=3600,
        telegram_token=TELEGRAM_TOKEN, telegram_webhook_secret=TELEGRAM_SECRET,
        telegram_api_url=tg.url, telegram_bot_username="stemme_test_bot",
        twilio_account_sid=TWILIO_ACCOUNT_SID, twilio_auth_token=TWILIO_AUTH_TOKEN,
        twilio_from=TWILIO_FROM, twilio_api_url=tw.url,
    )
    values.update(extra)
    return Settings(**values)


@dataclass
class Stemme:
    """A running app plus handles to drive and inspect it."""

    rt: Runtime
    services: Services
    client: TestClient[Any, Any]
    tg: FakeTelegramAPI
    tw: FakeTwilioAPI
    case_id: str = ""
    webhook_replies: list[dict[str, Any]] = field(default_factory=list)

    # -- set-up ---------------------------------------------------------------------------
    def make_case(self, born: date = date(2014, 5, 31)) -> str:
        with Session(self.rt.engine) as session:
            worker = create_user(session, email=f"cw{utcnow().timestamp()}@example.org",
                                 role="caseworker", password=None)
            case = cases.create_case(session, self.rt.vault, ref="K-1", child_name="Sofie Hansen",
                                     birth_date=born, caseworker_id=worker.id)
            session.commit()
            self.case_id = case.id
            return case.id

    def add(self, role: str, channel: str, *, phone: str | None = None, agreed: bool = True,
            guardian: bool = True) -> tuple[str, str | None]:
        """A participant; returns (participant id, invite token for chat channels)."""
        now = utcnow()
        with Session(self.rt.engine) as session:
            case = cases.get_case(session, self.case_id)
            person = cases.add_participant(session, self.rt.vault, self.rt.index, case=case,
                                           role=role, channel=channel, phone=phone)
            if role == "child" and guardian:
                agreements.record(session, person, action="given", given_by="guardian",
                                  recorded_by="cw", at=now, age_at_time=12)
            if agreed:
                agreements.record(session, person, action="given", given_by="self",
                                  recorded_by="participant", at=now)
            token = invites.create_invite(session, person, now=now) \
                if channel != "sms" else None
            session.commit()
            return person.id, token

    # -- driving --------------------------------------------------------------------------
    async def post_telegram(self, update: dict[str, Any], secret: str | None = TELEGRAM_SECRET
                            ) -> int:
        headers, body = telegram_request(update, secret)
        async with self.client.post("/webhooks/telegram", data=body, headers=headers) as resp:
            if resp.content_type == "application/json":  # a Bot API method in the answer
                self.webhook_replies.append(await resp.json())
            return resp.status

    async def post_sms(self, body: str, from_: str, *, sid: str,
                       signature: str | None = None) -> int:
        form = twilio_form("inbound_sms", Body=body, From=from_, MessageSid=sid,
                           To=TWILIO_FROM, AccountSid=TWILIO_ACCOUNT_SID)
        url = PUBLIC_URL + "/webhooks/twilio/sms"
        headers, data = twilio_request(url, form, TWILIO_AUTH_TOKEN, signature=signature)
        async with self.client.post("/webhooks/twilio/sms", data=data, headers=headers) as resp:
            return resp.status

    async def settle(self) -> None:
        """Wait for background processing, then send everything queued (a chat past its
        burst waits its turn in the queue: up to a few seconds)."""
        for _ in range(300):
            await asyncio.sleep(0.02)
            tasks = self.services.intake.tasks
            if tasks:
                await asyncio.wait(tasks)
            if not await self.services.dispatcher.run_once() and not self.due_soon():
                return

    # -- looking ---------------------------------------------------------------------------
    def due_soon(self, within: float = 4.0) -> int:
        """Messages queued to go within `within` seconds (a chat held after its burst);
        those due later (a retry's backoff, quiet hours) are left to their time."""
        soon = utcnow() + timedelta(seconds=within)
        with Session(self.rt.engine) as session:
            return int(session.exec(select(func.count()).select_from(OutboxMessage).where(
                col(OutboxMessage.status).in_(["pending", "sending"]),
                col(OutboxMessage.not_before) <= soon)).one())

    def queued(self) -> int:
        with Session(self.rt.engine) as session:
            return int(session.exec(select(func.count()).select_from(OutboxMessage).where(
                col(OutboxMessage.status).in_(["pending", "sending"]))).one())

    def count(self, model: type, **where: object) -> int:
        with Session(self.rt.engine) as session:
            query = select(func.count()).select_from(model)
            for name, value in where.items():
                query = query.where(getattr(model, name) == value)
            return int(session.exec(query).one())

    def answers(self, participant_id: str) -> list[tuple[str, str, float | None]]:
        from storage.repo.answers import participant_answers

        with Session(self.rt.engine) as session:
            return [(a.instrument, a.item, a.score)
                    for a in participant_answers(session, self.rt.vault, participant_id)]

    def participant(self, pid: str) -> Participant:
        with Session(self.rt.engine, expire_on_commit=False) as session:
            person = session.get(Participant, pid)
            assert person is not None
            return person

    def last_provider_message_id(self, pid: str) -> str:
        with Session(self.rt.engine) as session:
            row = session.exec(select(OutboxMessage).where(
                OutboxMessage.participant_id == pid, OutboxMessage.status == "sent")
                .order_by(col(OutboxMessage.sent_at).desc())).first()
            assert row is not None and row.provider_message_id
            return row.provider_message_id


async def start_stemme(tmp: Path, db_url: str, tg: FakeTelegramAPI,
                       tw: FakeTwilioAPI, **extra: Any) -> Stemme:
    """Migrate, build the app with background work on, and serve it on a free port."""
    rt = Runtime(settings_for(tmp, db_url, tg, tw, **extra))
    upgrade(rt.engine)
    services = Services(rt)
    app = create_app(rt, services)
    client: TestClient[Any, Any] = TestClient(TestServer(app))
    await client.start_server()
    return Stemme(rt, services, client, tg, tw)


@asynccontextmanager
async def serving(tmp: Path, db_url: str, tg: FakeTelegramAPI, tw: FakeTwilioAPI,
                  **extra: Any) -> AsyncIterator[Stemme]:
    """A running app with one case made, closed afterwards (the pipeline specs' fixture)."""
    app = await start_stemme(tmp, db_url, tg, tw, **extra)
    app.make_case()
    try:
        yield app
    finally:
        await app.client.close()
        app.rt.close()


async def until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll until `predicate` holds."""
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached in time")


__all__ = ["Answer", "InboxMessage", "Stemme", "start_stemme", "until"]
