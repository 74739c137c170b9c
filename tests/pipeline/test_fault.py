"""Crash safety: a kill at any moment loses no acknowledged message and sends SMS only once.

The first tests cut the pipeline at the one ambiguous moment by hand (the provider has the
message, our database does not know); the last one SIGKILLs a real `stemme serve` process
while 200 inbound and 200 outbound messages are under way, restarts it and counts.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlmodel import Session, col, func, select

from bot.channels.sms.channel import TwilioSmsChannel
from bot.channels.telegram.channel import TelegramChannel
from bot.channels.wire import message_from_dict, message_to_dict
from bot.flows.messages import OutgoingMessage
from bot.outbound.config import DispatchConfig
from bot.outbound.dispatcher import Dispatcher
from bot.outbound.holders import owner_token
from consent import agreements
from storage.blind_index import BlindIndex
from storage.db import make_engine
from storage.keys import KeyRing
from storage.migrate import upgrade
from storage.models import InboxMessage, OutboxMessage, utcnow
from storage.repo import cases, outbox, outbox_queue
from storage.repo.users import create_user
from storage.vault import Vault
from tests.fakes.fixtures import (
    TELEGRAM_SECRET,
    TELEGRAM_TOKEN,
    TWILIO_ACCOUNT_SID,
    TWILIO_AUTH_TOKEN,
    TWILIO_FROM,
)
from tests.fakes.server import Fault
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.twilio_api import FakeTwilioAPI
from tests.fakes.webhooks import twilio_form, twilio_request
from tests.pipeline.conftest import World

AFTER_SEND_LEASE = outbox.SEND_LEASE + timedelta(seconds=1)


def queue(world: World, pid: str, channel: str, text: str, key: str) -> str:
    with Session(world.engine) as session:
        outbox_queue.enqueue(session, world.vault, participant=world.participant(session, pid),
                       channel=channel, message=message_to_dict(OutgoingMessage(text)),
                       purpose="survey", key=key)
        session.commit()
        row = session.exec(select(OutboxMessage).where(OutboxMessage.idempotency_key == key)
                           ).one()
        return row.id


def row(world: World, row_id: str) -> OutboxMessage:
    with Session(world.engine, expire_on_commit=False) as session:
        found = session.get(OutboxMessage, row_id)
        assert found is not None
        return found


def crash_mid_attempt(world: World) -> outbox.Claimed:
    """A dispatcher claims the row and marks it "sending", then dies before any answer."""
    [claimed] = outbox.claim(world.engine, world.vault, worker="dead", now=utcnow())
    assert outbox.begin_attempt(world.engine, claimed.id, worker="dead", now=utcnow()) == 1
    return claimed


def dispatcher(world: World, *, later: timedelta = timedelta(0), **channels: Any) -> Dispatcher:
    d = Dispatcher(engine=world.engine, vault=world.vault, channels=channels, worker="test",
                   config=DispatchConfig(base_backoff=0.01))
    d.clock = lambda: utcnow() + later
    return d


async def drain(d: Dispatcher, rounds: int = 40) -> None:
    for _ in range(rounds):
        if not await d.run_once():
            with Session(d.engine) as session:
                waiting = session.exec(select(func.count()).select_from(OutboxMessage).where(
                    col(OutboxMessage.status).in_(["pending", "sending"]))).one()
            if not waiting:
                return
            await asyncio.sleep(0.05)


# -- SMS: the provider is asked ------------------------------------------------------------

async def test_an_sms_twilio_took_just_before_a_crash_is_recorded_not_sent_again(
    world: World, sms: TwilioSmsChannel, fake_twilio: FakeTwilioAPI
) -> None:
    row_id = queue(world, world.parent_id, "sms", "Hvordan gik det?", "k1")
    claimed = crash_mid_attempt(world)
    # The request reached Twilio; the answer never reached the process that died.
    await sms.send(f"tel:{world.parent_phone}", message_from_dict(claimed.payload["message"]),
                   idempotency_key="k1")
    [sid] = fake_twilio.messages

    await drain(dispatcher(world, later=AFTER_SEND_LEASE, sms=sms))

    assert fake_twilio.bodies() == ["Hvordan gik det?"]
    assert len(fake_twilio.created()) == 1
    assert (row(world, row_id).status, row(world, row_id).provider_message_id) == ("sent", sid)
    assert fake_twilio.calls("ListMessages")


async def test_an_sms_twilio_never_got_before_a_crash_is_sent_once(
    world: World, sms: TwilioSmsChannel, fake_twilio: FakeTwilioAPI
) -> None:
    row_id = queue(world, world.parent_id, "sms", "Hvordan gik det?", "k1")
    crash_mid_attempt(world)

    await drain(dispatcher(world, later=AFTER_SEND_LEASE, sms=sms))

    assert fake_twilio.bodies() == ["Hvordan gik det?"]
    assert row(world, row_id).status == "sent"


async def test_an_sms_still_queued_at_twilio_without_a_send_date_is_found(
    world: World, sms: TwilioSmsChannel, fake_twilio: FakeTwilioAPI
) -> None:
    # A DateSent filter cannot see a message Twilio has not sent on yet.
    fake_twilio.send_delay = 3600
    queue(world, world.parent_id, "sms", "Hvordan gik det?", "k1")
    claimed = crash_mid_attempt(world)
    await sms.send(f"tel:{world.parent_phone}", message_from_dict(claimed.payload["message"]),
                   idempotency_key="k1")

    await drain(dispatcher(world, later=AFTER_SEND_LEASE, sms=sms))

    assert fake_twilio.bodies() == ["Hvordan gik det?"]


async def test_a_timeout_after_twilio_took_the_sms_does_not_send_it_twice(
    world: World, sms: TwilioSmsChannel, fake_twilio: FakeTwilioAPI
) -> None:
    fake_twilio.stall_created, fake_twilio.stall_seconds = 1, 5.0  # the client gives up at 2 s
    row_id = queue(world, world.parent_id, "sms", "Hvordan gik det?", "k1")

    await drain(dispatcher(world, sms=sms))

    assert fake_twilio.bodies() == ["Hvordan gik det?"]
    assert row(world, row_id).status == "sent"
    assert row(world, row_id).attempts == 2  # the timeout, then the look-up that found it


async def test_the_same_text_sent_earlier_by_another_row_is_not_taken_for_this_one(
    world: World, sms: TwilioSmsChannel, fake_twilio: FakeTwilioAPI
) -> None:
    queue(world, world.parent_id, "sms", "Tak for svaret", "first")
    await drain(dispatcher(world, sms=sms))
    second = queue(world, world.parent_id, "sms", "Tak for svaret", "second")
    crash_mid_attempt(world)

    await drain(dispatcher(world, later=AFTER_SEND_LEASE, sms=sms))

    assert fake_twilio.bodies() == ["Tak for svaret", "Tak for svaret"]
    assert row(world, second).status == "sent"


async def test_when_twilio_cannot_be_asked_nothing_is_sent_blind(
    world: World, sms: TwilioSmsChannel, fake_twilio: FakeTwilioAPI
) -> None:
    row_id = queue(world, world.parent_id, "sms", "Hvordan gik det?", "k1")
    claimed = crash_mid_attempt(world)
    await sms.send(f"tel:{world.parent_phone}", message_from_dict(claimed.payload["message"]),
                   idempotency_key="k1")
    fake_twilio.inject(Fault.server_error(), times=2, name="ListMessages")

    await drain(dispatcher(world, later=AFTER_SEND_LEASE, sms=sms))

    assert fake_twilio.bodies() == ["Hvordan gik det?"]
    assert row(world, row_id).status == "sent"


# -- Telegram: the provider cannot be asked -------------------------------------------------

async def test_an_interrupted_telegram_message_is_sent_again_because_telegram_cannot_say(
    world: World, telegram: TelegramChannel, fake_telegram: FakeTelegramAPI
) -> None:
    row_id = queue(world, world.child_id, "telegram", "Hvordan har du det?", "k1")
    claimed = crash_mid_attempt(world)
    await telegram.send(f"telegram:{world.chat_id}",
                        message_from_dict(claimed.payload["message"]), idempotency_key="k1")

    await drain(dispatcher(world, later=AFTER_SEND_LEASE, telegram=telegram))

    # At least once, never lost: the Bot API has no way to ask what a bot sent.
    assert len(fake_telegram.sent_messages(world.chat_id)) == 2
    assert row(world, row_id).status == "sent"


# -- claims and holders --------------------------------------------------------------------

async def test_rows_claimed_but_never_attempted_are_resent_without_doubt(
    world: World, telegram: TelegramChannel, fake_telegram: FakeTelegramAPI
) -> None:
    for n in range(3):
        queue(world, world.child_id, "telegram", f"Besked {n}", f"k{n}")
    outbox.claim(world.engine, world.vault, worker="dead", now=utcnow())

    await drain(dispatcher(world, later=outbox.CLAIM_LEASE + timedelta(seconds=1),
                           telegram=telegram))

    texts = [r.params["text"] for r in fake_telegram.sent_messages()]
    assert texts == ["Besked 0", "Besked 1", "Besked 2"]


async def test_a_holder_whose_claim_lapsed_can_no_longer_send(world: World) -> None:
    row_id = queue(world, world.parent_id, "sms", "Hej", "k1")
    outbox.claim(world.engine, world.vault, worker="slow", now=utcnow())
    later = utcnow() + outbox.CLAIM_LEASE + timedelta(seconds=1)
    outbox.claim(world.engine, world.vault, worker="fast", now=later)

    assert outbox.begin_attempt(world.engine, row_id, worker="slow", now=later) is None
    assert outbox.begin_attempt(world.engine, row_id, worker="fast", now=later) == 1


def _finished_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


async def test_what_a_process_that_died_on_this_host_held_is_taken_over_at_once(
    world: World, sms: TwilioSmsChannel, fake_twilio: FakeTwilioAPI
) -> None:
    for n in range(3):
        queue(world, world.parent_id, "sms", f"Besked {n}", f"k{n}")
    dead = owner_token().replace(f":{os.getpid()}/", f":{_finished_pid()}/")
    claimed = outbox.claim(world.engine, world.vault, worker=dead, now=utcnow())
    outbox.begin_attempt(world.engine, claimed[0].id, worker=dead, now=utcnow())
    d = Dispatcher(engine=world.engine, vault=world.vault, channels={"sms": sms},
                   worker=f"{socket.gethostname()}:{os.getpid()}",
                   config=DispatchConfig(base_backoff=0.01))

    recovered = await d.recover()
    await drain(d)  # on the real clock: no lease has lapsed

    assert recovered == (2, 1)
    assert sorted(fake_twilio.bodies()) == ["Besked 0", "Besked 1", "Besked 2"]


async def test_what_a_live_process_holds_is_left_alone(world: World) -> None:
    queue(world, world.parent_id, "sms", "Hej", "k1")
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"]) as alive:
        try:
            holder = owner_token().replace(f":{os.getpid()}/", f":{alive.pid}/")
            outbox.claim(world.engine, world.vault, worker=holder, now=utcnow())
            d = dispatcher(world)

            assert await d.recover() == (0, 0)
        finally:
            alive.kill()


# -- a real process, SIGKILLed under load --------------------------------------------------

PARENTS = 200
PUBLIC_URL = "https://stemme.example.org"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _phone(n: int) -> str:
    return f"+452{n:07d}"


def _populate(url: str, key_file: Path) -> None:
    """200 parents on SMS who agreed, each with one message queued ("Besked n")."""
    engine = make_engine(url)
    upgrade(engine)
    vault = Vault(KeyRing.load(key_file))
    index = BlindIndex(vault.ring)
    now = utcnow()
    with Session(engine, expire_on_commit=False) as session:
        worker = create_user(session, email="cw@example.org", role="caseworker", password=None)
        case = cases.create_case(session, vault, ref="K-1", child_name="Sofie",
                                 birth_date=date(2014, 5, 31), caseworker_id=worker.id)
        for n in range(PARENTS):
            parent = cases.add_participant(session, vault, index, case=case, role="parent",
                                           channel="sms", phone=_phone(n))
            agreements.record(session, parent, action="given", given_by="self",
                              recorded_by="participant", at=now)
            outbox_queue.enqueue(session, vault, participant=parent, channel="sms",
                           message=message_to_dict(OutgoingMessage(f"Besked {n}")),
                           purpose="survey", key=f"fault:{n}")
        session.commit()
    engine.dispose()


class Server:
    """`python -m bot serve` in a subprocess; its log goes to a file (a pipe could fill up)."""

    def __init__(self, env: dict[str, str], cwd: Path, log: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = log.open("ab")
        self.orphans: list[int] = []
        self.proc = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--port",
                                      str(self.port)], env=env, cwd=cwd,
                                     stdout=self._log, stderr=self._log)

    async def ready(self, http: aiohttp.ClientSession, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, "the server exited while starting"
            try:
                async with http.get(f"{self.url}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
        raise AssertionError("the server did not answer /healthz in time")

    def children(self) -> list[int]:
        """Its child processes (the writer process, when it has one)."""
        pid = self.proc.pid
        path = Path(f"/proc/{pid}/task/{pid}/children")
        return [int(child) for child in path.read_text().split()] if path.exists() else []

    def kill(self) -> None:
        self.orphans = self.children()
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()  # reaped: a zombie would still look alive to the next process
        self._log.close()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if not self._log.closed:
            self._log.close()
        return int(self.proc.returncode)


def _inbound(n: int) -> dict[str, str]:
    sid = f"SM{n:032x}"
    return twilio_form("inbound_sms", Body="Hej", From=_phone(n), To=TWILIO_FROM,
                       MessageSid=sid, SmsSid=sid, SmsMessageSid=sid,
                       AccountSid=TWILIO_ACCOUNT_SID)


async def _post(http: aiohttp.ClientSession, base: str, form: dict[str, str]) -> bool:
    """One signed inbound-SMS webhook; True when it was acknowledged (2xx)."""
    headers, body = twilio_request(PUBLIC_URL + "/webhooks/twilio/sms", form,
                                   TWILIO_AUTH_TOKEN)
    try:
        async with http.post(f"{base}/webhooks/twilio/sms", data=body,
                             headers=headers) as response:
            await response.read()
            return 200 <= response.status < 300
    except (TimeoutError, aiohttp.ClientError):
        return False


def _counts(url: str) -> tuple[int, int]:
    """(outbox rows not finished, inbox rows not processed)."""
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            open_out = session.exec(select(func.count()).select_from(OutboxMessage).where(
                col(OutboxMessage.status).in_(["pending", "sending"]))).one()
            open_in = session.exec(select(func.count()).select_from(InboxMessage).where(
                InboxMessage.status == "new")).one()
            return int(open_out), int(open_in)
    finally:
        engine.dispose()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").exists() and \
        Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("writer", ["thread", "process"])
async def test_a_killed_server_loses_no_acknowledged_message_and_sends_each_sms_once(
    tmp_path: Path, db_url: str, writer: str, fake_twilio: FakeTwilioAPI,
    fake_telegram: FakeTelegramAPI
) -> None:
    # Arrange: 200 SMS queued before the server starts; it sends ~70 a second.
    key_file = tmp_path / "keys.json"
    await asyncio.to_thread(_populate, db_url, key_file)
    env = {k: v for k, v in os.environ.items() if not k.startswith("STEMME_")}
    env.update(STEMME_DATABASE_URL=db_url, STEMME_KEY_FILE=str(key_file),
               STEMME_DATA_DIR=str(tmp_path / "data"), STEMME_PUBLIC_URL=PUBLIC_URL,
               STEMME_QUIET_HOURS="", STEMME_SWEEP_SECONDS="1",
               STEMME_SMS_SEGMENTS_PER_SECOND="80", STEMME_TELEGRAM_MESSAGES_PER_SECOND="30",
               STEMME_TWILIO_ACCOUNT_SID=TWILIO_ACCOUNT_SID,
               STEMME_TWILIO_AUTH_TOKEN=TWILIO_AUTH_TOKEN, STEMME_TWILIO_FROM=TWILIO_FROM,
               STEMME_TWILIO_API_URL=fake_twilio.url, STEMME_TELEGRAM_TOKEN=TELEGRAM_TOKEN,
               STEMME_TELEGRAM_WEBHOOK_SECRET=TELEGRAM_SECRET,
               STEMME_TELEGRAM_API_URL=fake_telegram.url,
               STEMME_WRITER_PROCESS=str(writer == "process").lower())
    log = tmp_path / "serve.log"
    acked: set[int] = set()
    killed = asyncio.Event()
    cut_off: list[str] = []  # the message Twilio took whose answer the kill swallowed
    first = Server(env, tmp_path, log)

    def kill_mid_way(message: dict[str, Any]) -> None:
        # SIGKILL once both directions are well under way, after Twilio created a message and
        # before its answer leaves: the one moment only the provider knows it was sent.
        if killed.is_set() or len(fake_twilio.messages) < 40 or len(acked) < 60:
            return
        first.kill()
        cut_off.append(message["sid"])
        killed.set()

    fake_twilio.on_created = kill_mid_way
    limit = asyncio.Semaphore(16)

    async def deliver(http: aiohttp.ClientSession, base: str, n: int) -> None:
        async with limit:
            if await _post(http, base, _inbound(n)) and not killed.is_set():
                acked.add(n)

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
        await first.ready(http)

        # Act: 200 inbound webhooks, paced over ~4 s, while the outbox drains; then the kill.
        posts = []
        for n in range(PARENTS):
            posts.append(asyncio.create_task(deliver(http, first.url, n)))
            await asyncio.sleep(0.02)  # slow enough that the kill comes while they arrive
        await asyncio.gather(*posts)
        await asyncio.wait_for(killed.wait(), 20)
        acknowledged = set(acked)
        sent_before_restart = len(fake_twilio.messages)
        # A writer process goes with its server: nothing keeps writing behind the restart.
        orphans_gone = time.monotonic() + 10
        while any(map(_alive, first.orphans)) and time.monotonic() < orphans_gone:
            await asyncio.sleep(0.05)

        second = Server(env, tmp_path, log)
        try:
            await second.ready(http)
            # Twilio would deliver again what was never acknowledged; the rest must survive.
            await asyncio.gather(*(_post(http, second.url, _inbound(n))
                                   for n in range(PARENTS) if n not in acknowledged))
            deadline, quiet_since, seen = time.monotonic() + 40, 0.0, -1
            while time.monotonic() < deadline:
                await asyncio.sleep(0.25)
                busy = await asyncio.to_thread(_counts, db_url) != (0, 0)
                if busy or len(fake_twilio.messages) != seen:
                    seen, quiet_since = len(fake_twilio.messages), time.monotonic()
                elif time.monotonic() - quiet_since > 1.5:
                    break
        finally:
            code = second.stop()

    # Assert
    engine = make_engine(db_url)
    with Session(engine) as session:
        inbox = {r.provider_id: r.status for r in session.exec(select(InboxMessage))}
        rows = session.exec(select(OutboxMessage)).all()
    engine.dispose()
    report = log.read_text(errors="replace")[-3000:]
    assert 0 < sent_before_restart < 2 * PARENTS and 0 < len(acknowledged) < PARENTS
    assert (len(first.orphans) >= 1) == (writer == "process")
    assert not any(map(_alive, first.orphans)), "a writer outlived its server"
    # Every acknowledged webhook was processed, and every redelivered one once.
    assert all(inbox.get(f"SM{n:032x}") == "done" for n in acknowledged), report
    assert Counter(inbox.values()) == {"done": PARENTS}, report
    # Every outbox row was sent, and Twilio holds exactly one message per row.
    assert Counter(r.status for r in rows) == {"sent": len(rows)}, report
    assert sorted(r.provider_message_id or "" for r in rows) == sorted(fake_twilio.messages)
    bodies = Counter(fake_twilio.bodies())
    assert all(bodies[f"Besked {n}"] == 1 for n in range(PARENTS))
    # The message whose answer the kill cut off was found at Twilio, not sent again.
    assert any(r.provider_message_id == cut_off[0] for r in rows)
    assert fake_twilio.calls("ListMessages")
    assert code == 0, report
