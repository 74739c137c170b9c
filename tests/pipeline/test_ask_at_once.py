"""Asking now reaches the provider at once, with an hour between sweeps and no sweep at all:
"Spørg nu" on the dashboard, the API's ask, and `stemme survey send` in a process of its own;
and a question still waiting for its answer (a consent question too) is never sent twice."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest
from sqlmodel import Session

from dashboard import accounts
from storage.models import Conversation, DuePrompt, OutboxMessage, Participant, User, utcnow
from storage.repo import cases
from storage.repo.users import create_user
from tests.dashboard.harness import PASSWORD, Agent
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.twilio_api import FakeTwilioAPI
from tests.pipeline.harness import Stemme, serving, until

ANNA = "anna@kommune.dk"
CHAT = 4242
PARENT = "+4520304050"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def stemme(tmp_path: Path, db_url: str, fake_telegram: FakeTelegramAPI,
                 fake_twilio: FakeTwilioAPI) -> AsyncIterator[Stemme]:
    """The whole app on the fakes, an hour between sweeps, and the sweep job taken away: only
    the asking itself can start a survey. The public URL is plain http, so that the
    dashboard's session cookie goes to the test server (it is Secure behind https)."""
    async with serving(tmp_path, db_url, fake_telegram, fake_twilio,
                       public_url="http://127.0.0.1:8080", sweep_seconds=3600) as app:
        assert app.services.scheduler is not None
        app.services.scheduler.remove_job("sweep")
        with Session(app.rt.engine) as session:
            anna = create_user(session, email=ANNA, role="caseworker", password=PASSWORD)
            case = cases.create_case(session, app.rt.vault, ref="K-2", child_name="Sofie",
                                     birth_date=date(2014, 5, 31),
                                     caseworker_id=anna.id)
            session.commit()
            app.case_id = case.id
        yield app


def linked_child(stemme: Stemme) -> str:
    """A child on Telegram who agreed (with a custody holder's yes), chat linked."""
    child, _ = stemme.add("child", "telegram")
    with Session(stemme.rt.engine) as session:
        person = session.get(Participant, child)
        assert person is not None
        cases.link_chat(session, stemme.rt.vault, stemme.rt.index, person, CHAT)
        session.commit()
    return child


def token(stemme: Stemme) -> str:
    with Session(stemme.rt.engine) as session:
        user = session.get(User, cases.get_case(session, stemme.case_id).caseworker_id)
        assert user is not None
        _, made = accounts.create_api_token(session, user, name="cms", created_by=ANNA,
                                            now=utcnow())
        session.commit()
        return made


async def cli(stemme: Stemme, *argv: str) -> tuple[int, str, str]:
    """`stemme ...` in a process of its own, on the same database and key file."""
    s = stemme.rt.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("STEMME_")}
    env.update(STEMME_DATABASE_URL=s.resolved_database_url, STEMME_DATA_DIR=str(s.data_dir),
               STEMME_KEY_FILE=str(s.resolved_key_file), STEMME_QUIET_HOURS="",
               PYTHONPATH=str(ROOT))
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *argv, env=env, cwd=str(s.data_dir),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_spoerg_nu_on_the_dashboard_reaches_the_child_at_once(stemme: Stemme) -> None:
    child = linked_child(stemme)
    base = f"http://{stemme.client.server.host}:{stemme.client.server.port}"
    anna = Agent(base)
    try:
        assert (await anna.sign_in(ANNA))[0] == 303
        await anna.get(f"/cases/{stemme.case_id}")

        _, _, location = await anna.post(
            f"/cases/{stemme.case_id}/participants/{child}/ask")

        assert location and "done=asked_now" in location
        await until(lambda: len(stemme.tg.sent_messages(CHAT)) >= 1, timeout=5)
    finally:
        await anna.close()
    assert stemme.count(DuePrompt, participant_id=child, status="sent") == 1


async def test_the_api_ask_reaches_the_child_at_once_and_a_second_is_refused(
    stemme: Stemme,
) -> None:
    child = linked_child(stemme)
    bearer = {"Authorization": f"Bearer {token(stemme)}"}
    path = f"/api/v1/cases/{stemme.case_id}/participants/{child}/ask"

    async with stemme.client.post(path, headers=bearer) as resp:
        first, started = resp.status, await resp.json()
    await until(lambda: len(stemme.tg.sent_messages(CHAT)) >= 1, timeout=5)
    await stemme.settle()
    sent = len(stemme.tg.sent_messages(CHAT))
    async with stemme.client.post(path, headers=bearer) as resp:
        again, refused = resp.status, await resp.json()
    await stemme.settle()

    assert (first, started["started"]) == (202, True)
    assert (again, refused["reason"]) == (409, "survey_running")
    assert len(stemme.tg.sent_messages(CHAT)) == sent
    assert stemme.count(Conversation, participant_id=child) == 1


async def test_survey_send_from_another_process_texts_the_consent_question_once(
    stemme: Stemme,
) -> None:
    parent, _ = stemme.add("parent", "sms", phone=PARENT, agreed=False)

    code, out, _ = await cli(stemme, "survey", "send", "--participant", parent)
    await until(lambda: len(stemme.tw.created(PARENT)) == 1, timeout=10)
    again, _, err = await cli(stemme, "survey", "send", "--participant", parent)
    await asyncio.sleep(1.5)  # a dispatcher poll and more: time for a second text to go
    await stemme.settle()

    assert code == 0 and "survey started" in out
    assert again == 1
    assert err.strip().count("\n") == 0 and "has not answered yet" in err
    assert len(stemme.tw.created(PARENT)) == 1
    assert stemme.count(OutboxMessage, participant_id=parent, purpose="consent") == 1
    assert stemme.count(Conversation, participant_id=parent) == 1
