"""Two `stemme serve` processes on one PostgreSQL database start and send each prompt once."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert
from sqlmodel import Session, func, select

from storage.blind_index import BlindIndex
from storage.db import make_engine
from storage.keys import KeyRing
from storage.migrate import upgrade
from storage.models import Consent, Conversation, DuePrompt, Participant, new_id, utcnow
from storage.repo import cases
from storage.repo.users import create_user
from storage.vault import Vault
from tests.fakes.fixtures import TELEGRAM_SECRET, TELEGRAM_TOKEN
from tests.fakes.telegram_api import FakeTelegramAPI

PROMPTS = 5000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def populate(url: str, key_file: Path) -> None:
    """5,000 agreed Telegram participants (their own chats) with one due prompt each."""
    engine = make_engine(url)
    upgrade(engine)
    vault = Vault(KeyRing.load(key_file))
    index = BlindIndex(vault.ring)
    now = utcnow()
    with Session(engine, expire_on_commit=False) as session:
        worker = create_user(session, email="cw@example.org", role="caseworker", password=None)
        case = cases.create_case(session, vault, ref="K", child_name="Barn",
                                 birth_date=date(1990, 1, 1), caseworker_id=worker.id)
        people, consents, prompts = [], [], []
        for n in range(PROMPTS):
            person = Participant(id=new_id(), case_id=case.id, role="parent",
                                 channel="telegram", chat_index=index.chat(100000 + n))
            vault.seal(session, person, "chat_id", str(100000 + n))
            people.append(person)
            consents.append({"id": new_id(), "participant_id": person.id, "channel": "telegram",
                             "action": "given", "given_by": "self", "scope": "ratings",
                             "text_version": "1", "language": "da", "recorded_by": "test",
                             "created_at": now - timedelta(days=1)})
            prompts.append({"id": new_id(), "case_id": case.id, "participant_id": person.id,
                            "kind": "adhoc", "dedupe_key": "t", "due_at": now,
                            "status": "pending", "attempts": 0, "created_at": now})
        session.add_all(people)
        session.flush()
        session.execute(insert(Consent), consents)
        session.execute(insert(DuePrompt), prompts)
        session.commit()
    engine.dispose()


@pytest.mark.slow
async def test_two_processes_send_each_of_5000_prompts_exactly_once(
    tmp_path: Path, db_url: str, fake_telegram: FakeTelegramAPI
) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("several processes on one database is the PostgreSQL set-up")
    key_file = tmp_path / "keys.json"
    await asyncio.to_thread(populate, db_url, key_file)
    env = {k: v for k, v in os.environ.items() if not k.startswith("STEMME_")}
    env.update(STEMME_DATABASE_URL=db_url, STEMME_KEY_FILE=str(key_file),
               STEMME_DATA_DIR=str(tmp_path / "data"), STEMME_QUIET_HOURS="",
               STEMME_SWEEP_SECONDS="1", STEMME_TELEGRAM_TOKEN=TELEGRAM_TOKEN,
               STEMME_TELEGRAM_WEBHOOK_SECRET=TELEGRAM_SECRET,
               STEMME_TELEGRAM_API_URL=fake_telegram.url,
               STEMME_TELEGRAM_MESSAGES_PER_SECOND="3000")
    servers = [subprocess.Popen([sys.executable, "-m", "bot", "serve", "--port",
                                 str(_free_port())], env=env, cwd=tmp_path,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
               for _ in range(2)]
    engine = make_engine(db_url)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            await asyncio.sleep(1)
            with Session(engine) as session:
                started = session.exec(select(func.count()).select_from(Conversation)).one()
            if started == PROMPTS and len(fake_telegram.sent_messages()) >= 2 * PROMPTS:
                await asyncio.sleep(2)  # anything sent twice would arrive now
                break
        with Session(engine) as session:
            workers = set(session.exec(select(DuePrompt.claimed_by)).all())
    finally:
        for server in servers:
            server.terminate()
        errors = [server.communicate(timeout=20)[1] for server in servers]
        engine.dispose()
    per_chat = Counter(r.params["chat_id"] for r in fake_telegram.sent_messages())
    assert len(per_chat) == PROMPTS, errors[0][-2000:]
    # Each survey opens with a greeting and the first question: two messages, once each.
    assert set(per_chat.values()) == {2}
    assert all(server.returncode == 0 for server in servers)
    assert len(workers) == 2, "both processes took part in the sweep"
