"""Logs under failure: JSON lines, an access line per request, and no personal data anywhere.

A case with a named child on Telegram, a parent's phone and the child's comment; then a broken
text-pack folder fails the sweep and the child's message, a request handler fails with a SQL
error that echoes a name and a phone, and the fake Bot API answers 500. Everything the process
writes (stdout, stderr and the log records) is searched for the seeded values.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from bot.channels.wire import message_to_dict
from bot.flows.messages import OutgoingMessage
from bot.runtime import logs
from casework import asking
from storage.models import Participant, utcnow
from storage.repo import cases, outbox_queue
from tests.fakes.server import Fault
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.twilio_api import FakeTwilioAPI
from tests.fakes.webhooks import telegram_update
from tests.pipeline.harness import Stemme, serving
from tests.pipeline.test_safety_path import caseworker_email, token_for

CHAT = 7351946
PHONE = "+45 31 41 59 26"
COMMENT = "Jeg gemmer mig i skuret bag huset"
# The harness names the child "Sofie Hansen", born 2014-05-31; the Telegram fixture's sender
# is "Jane"; the outgoing message greets "Ingeborg".
SECRETS = ["Sofie", "Hansen", "2014-05-31", str(CHAT), "31415926", "31 41 59 26", COMMENT,
           "skuret", "Jane", "Ingeborg"]


@pytest.fixture
async def stemme(tmp_path: Path, db_url: str, fake_telegram: FakeTelegramAPI,
                 fake_twilio: FakeTwilioAPI) -> AsyncIterator[Stemme]:
    """The app with a text-pack folder whose pack is not TOML: every survey start fails."""
    packs = tmp_path / "packs"
    packs.mkdir()
    (packs / "broken.toml").write_text('instrument = "outcome-child"\n[text.da\nSofie = 1\n')
    async with serving(tmp_path, db_url, fake_telegram, fake_twilio,
                       text_packs_dir=packs) as app:
        yield app


@pytest.fixture
def json_logs(capfd: pytest.CaptureFixture[str]) -> Iterator[None]:
    """STEMME_LOG_FORMAT=json for this test, on the stderr capfd captures; undone after."""
    logs.configure("json", "debug")  # to sys.stderr, whatever it is when a line is written
    try:
        yield
    finally:
        logs.reset()


def seed(stemme: Stemme) -> tuple[str, str]:
    """The child on Telegram (chat linked) and the parent on SMS; their ids."""
    child, _ = stemme.add("child", "telegram")
    parent, _ = stemme.add("parent", "sms", phone=PHONE)
    with Session(stemme.rt.engine) as session:
        person = session.get(Participant, child)
        assert person is not None
        cases.link_chat(session, stemme.rt.vault, stemme.rt.index, person, CHAT)
        session.commit()
    return child, parent


def failing_ask(session: Session, person: Participant, *, actor: str, now: Any,
                **_: Any) -> None:
    """A handler's database error whose statement carries a name and a phone as parameters."""
    child_name = "Sofie Hansen"  # a local a traceback renderer with locals would print
    try:
        session.execute(text("INSERT INTO no_such_table (name, phone) VALUES (:name, :phone)"),
                        {"name": child_name, "phone": PHONE})
    except DBAPIError as exc:  # SQLite: OperationalError; PostgreSQL: ProgrammingError
        raise ValueError(f"could not ask {child_name} at {PHONE}") from exc


def queue_message(stemme: Stemme, child: str) -> None:
    with Session(stemme.rt.engine) as session:
        person = session.get(Participant, child)
        assert person is not None
        outbox_queue.enqueue(session, stemme.rt.vault, participant=person, channel="telegram",
                             message=message_to_dict(OutgoingMessage("Hej Ingeborg")),
                             purpose="survey", key="privacy:1")
        session.commit()


async def test_failures_log_json_lines_with_no_personal_data(
    stemme: Stemme, json_logs: None, capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG, logger="stemme")
    child, _parent = seed(stemme)
    requests: list[tuple[str, str, int]] = []

    # The child's comment arrives; processing it fails on the broken text pack.
    update = telegram_update("update_message", update_id=11, text=COMMENT, chat_id=CHAT)
    assert await stemme.post_telegram(update) == 200
    requests.append(("POST", "/webhooks/telegram", 200))
    await stemme.settle()

    # A request handler fails with a SQL error echoing personal data: a plain 500.
    token = token_for(stemme, caseworker_email(stemme))
    monkeypatch.setattr(asking, "ask_now", failing_ask)
    path = f"/api/v1/cases/{stemme.case_id}/participants/{child}/ask"
    async with stemme.client.post(path, headers={"Authorization": f"Bearer {token}"}) as resp:
        assert resp.status == 500
        assert "Sofie" not in await resp.text()
    requests.append(("POST", "/api/v1/cases/{case_id}/participants/{participant_id}/ask", 500))
    monkeypatch.undo()

    # A prompt is due; the sweep that starts it fails on the broken text pack.
    with Session(stemme.rt.engine) as session:
        person = session.get(Participant, child)
        assert person is not None
        asking.ask_now(session, person, actor="cw@example.org", now=utcnow())
        session.commit()
    await stemme.services.sweep_job()

    # The fake Bot API answers 500 to a message that names the child.
    stemme.tg.inject(Fault.server_error(), times=None)
    queue_message(stemme, child)
    await stemme.services.dispatcher.run_once()

    async with stemme.client.get(f"/api/v1/cases/{stemme.case_id}",
                                 headers={"Authorization": f"Bearer {token}"}) as resp:
        assert resp.status == 200
    requests.append(("GET", "/api/v1/cases/{case_id}", 200))
    async with stemme.client.get("/healthz?probe=1") as resp:
        assert resp.status == 200
    requests.append(("GET", "/healthz", 200))

    captured = capfd.readouterr()
    lines = [line for line in (captured.out + captured.err).splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all(isinstance(record, dict) for record in records)
    everything = "\n".join([captured.out, captured.err,
                            *(str(r.msg) for r in caplog.records),
                            *(r.getMessage() for r in caplog.records)])
    for secret in SECRETS:
        assert secret not in everything, f"{secret!r} was logged"
    assert token not in everything

    access = [(r["method"], r["route"], r["status"]) for r in records
              if r.get("logger") == "stemme.access" and r["event"] == "request"]
    assert access == requests
    assert all(isinstance(r["duration_ms"], float) for r in records
               if r.get("logger") == "stemme.access" and r["event"] == "request")

    by_event = {r["event"]: r for r in records}
    for event in ("request failed", "sweep failed", "inbound processing failed"):
        failure = by_event[event]
        assert failure["level"] == "error"
        [raised, *_] = failure["exception"]
        assert raised["frames"] and {"file", "line", "function"} <= raised["frames"][-1].keys()
        assert "locals" not in json.dumps(failure["exception"])
    raised, cause, *_ = by_event["request failed"]["exception"]
    assert (raised["type"], raised["message"]) == ("ValueError", logs.HIDDEN)
    assert cause["type"] in {"sqlalchemy.exc.OperationalError", "sqlalchemy.exc.ProgrammingError"}
    assert cause["message"] == logs.HIDDEN
    assert by_event["sweep failed"]["exception"][0]["type"] == \
        "bot.flows.instruments.InstrumentError"
    failed_send = by_event["send failed"]
    assert failed_send["channel"] == "telegram" and failed_send["outcome"] == "retry"
    assert "error" in failed_send and "address" not in failed_send
    assert by_event["batch dispatched"]["level"] == "debug"
