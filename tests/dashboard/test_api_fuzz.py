"""Schemathesis against /api/v1/openapi.json: no 5xx, and every answer matches the document.

The app runs in a thread of its own (Schemathesis calls it synchronously through `requests`),
with a caseworker's bearer token and one case of theirs, so generated calls reach real data.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlmodel import Session, select

from bot.cli import demo
from bot.runtime.app import create_app
from bot.runtime.parts import Runtime
from bot.runtime.services import Services
from dashboard import accounts
from dashboard.openapi import document
from storage.migrate import upgrade
from storage.models import Meeting, utcnow
from storage.repo.users import user_by_email
from tests.dashboard.harness import free_port, settings_for

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
ID = re.compile(r"[0-9a-f]{32}")
EXAMPLES = 12  # per operation: the whole run stays well under a minute


class ThreadedServer:
    """The real app served from a background thread's event loop."""

    def __init__(self, tmp: Path) -> None:
        self.port = free_port()
        self.rt = Runtime(settings_for(tmp, self.port))
        upgrade(self.rt.engine)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.runner: web.AppRunner | None = None

    async def _start(self) -> None:
        self.runner = web.AppRunner(create_app(self.rt, Services(self.rt), background=False),
                                    access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    def start(self) -> str:
        """Serve; returns the base URL."""
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(timeout=30)
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        """Stop serving and release the database."""
        if self.runner is not None:
            asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()
        self.rt.close()


@pytest.fixture(scope="module")
def api_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A served app with the demo's cases, the demo caseworker's token and real ids."""
    server = ThreadedServer(tmp_path_factory.mktemp("fuzz"))
    with Session(server.rt.engine) as session:
        seeded = demo.seed(session, server.rt, utcnow())
        user = user_by_email(session, demo.CASEWORKER)
        assert user is not None
        _, token = accounts.create_api_token(session, user, name="fuzz",
                                             created_by=user.email, now=utcnow())
        case_id = seeded[0]["case_id"]
        meeting = session.exec(select(Meeting).where(Meeting.case_id == case_id)).first()
        assert meeting is not None
        ids = {"case_id": case_id, "participant_id": seeded[0]["participants"][0][
            "participant_id"], "session_id": meeting.id}
        session.commit()
    base = server.start()
    try:
        yield {"base": base, "token": token, "ids": ids}
    finally:
        server.stop()


def test_the_fuzzed_document_is_the_one_served(api_server: dict[str, Any]) -> None:
    with urllib.request.urlopen(f"{api_server['base']}/api/v1/openapi.json") as resp:
        served = json.load(resp)

    assert served == json.loads(json.dumps(document("/")))


schema = schemathesis.openapi.from_dict(document("/"))


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=list(HealthCheck))
def test_the_api_never_fails_and_always_answers_as_documented(
    case: Any, api_server: dict[str, Any]
) -> None:
    # Well-formed ids point at real rows (the demo's first case), so calls reach real data;
    # malformed ones are kept, to see them refused.
    for name, value in (case.path_parameters or {}).items():
        if name in api_server["ids"] and isinstance(value, str) and ID.fullmatch(value):
            case.path_parameters[name] = api_server["ids"][name]
    case.call_and_validate(base_url=api_server["base"], checks=CHECKS,
                           headers={"Authorization": f"Bearer {api_server['token']}"})
