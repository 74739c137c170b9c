"""An in-process Stemme serving the dashboard, a movable clock, and HTTP agents with cookies."""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import ClientResponse, ClientSession, CookieJar, web
from aiohttp.test_utils import TestServer
from sqlmodel import Session, col, select

from bot.runtime.app import create_app
from bot.runtime.parts import Runtime
from bot.runtime.services import Services
from bot.runtime.settings import Settings
from dashboard import accounts
from dashboard.state import DASHBOARD
from storage.migrate import upgrade
from storage.models import AuditEntry, User
from storage.repo import cases
from storage.repo.users import create_user, user_by_email

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="_csrf" value="([^"]+)"')


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Clock:
    """The dashboard's clock in tests: starts at the real time, moves only when told."""

    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        """Move time forward, e.g. advance(minutes=31)."""
        self.now += timedelta(**delta)


def settings_for(tmp: Path, port: int, **extra: Any) -> Settings:
    """Settings for a test instance: SQLite under `tmp`, quiet hours off, no channels."""
    values: dict[str, Any] = {
        "data_dir": tmp / "data", "database_url": f"sqlite:///{tmp / 'stemme.db'}",
        "key_file": tmp / "data" / "keys.json", "public_url": f"http://127.0.0.1:{port}",
        "quiet_hours": "", "sweep_seconds": 3600, "telegram_bot_username": "stemme_test_bot"}
    values.update(extra)
    return Settings(**values)


@dataclass
class Site:
    """A running app with the dashboard, and handles to arrange and inspect its database."""

    rt: Runtime
    app: web.Application
    server: TestServer
    clock: Clock
    agents: list[Agent] = field(default_factory=list)

    @property
    def base(self) -> str:
        """The server's address."""
        return f"http://127.0.0.1:{self.server.port}"

    def user(self, email: str, role: str = "caseworker", password: str = PASSWORD) -> str:
        """A dashboard user; returns the user id."""
        with Session(self.rt.engine) as session:
            user = create_user(session, email=email, role=role, password=password)
            session.commit()
            return user.id

    def case(self, owner: str, ref: str = "K-1", child_name: str = "Sofie",
             born: date = date(2014, 5, 31)) -> str:
        """A case owned by the user with e-mail `owner`; returns the case id."""
        with Session(self.rt.engine) as session:
            worker = user_by_email(session, owner)
            assert worker is not None
            case = cases.create_case(session, self.rt.vault, ref=ref, child_name=child_name,
                                     birth_date=born, caseworker_id=worker.id)
            session.commit()
            return case.id

    def token(self, email: str) -> str:
        """A fresh API token for a user."""
        with Session(self.rt.engine) as session:
            user = user_by_email(session, email)
            assert user is not None
            _, token = accounts.create_api_token(session, user, name="test", created_by=email,
                                                 now=self.clock())
            session.commit()
            return token

    def audit(self, action: str) -> list[AuditEntry]:
        """Audit-log entries with this action, oldest first."""
        with Session(self.rt.engine) as session:
            return list(session.exec(select(AuditEntry).where(AuditEntry.action == action)
                                     .order_by(col(AuditEntry.id))).all())

    def get(self, model: type, key: str) -> Any:
        """One row by primary key."""
        with Session(self.rt.engine, expire_on_commit=False) as session:
            return session.get(model, key)

    def rows(self, model: type, **where: object) -> list[Any]:
        """Rows of a table matching equality conditions."""
        with Session(self.rt.engine, expire_on_commit=False) as session:
            query = select(model)
            for name, value in where.items():
                query = query.where(getattr(model, name) == value)
            return list(session.exec(query).all())

    def agent(self) -> Agent:
        """A new browser-like HTTP client with its own cookies."""
        agent = Agent(self.base)
        self.agents.append(agent)
        return agent


class Agent:
    """An HTTP client that keeps cookies and the page's CSRF token, like a browser tab."""

    def __init__(self, base: str) -> None:
        self.http = ClientSession(base_url=base, cookie_jar=CookieJar(unsafe=True))
        self.csrf = ""
        self.last: ClientResponse | None = None

    async def get(self, path: str, **kw: Any) -> tuple[int, str]:
        """GET a page (redirects not followed); remembers the CSRF token it carries."""
        async with self.http.get(path, allow_redirects=False, **kw) as resp:
            text = await resp.text(errors="replace")
            self.last = resp
            found = CSRF.search(text)
            if found:
                self.csrf = found[1]
            return resp.status, text

    async def post(self, path: str, data: dict[str, str] | None = None, *,
                   csrf: bool = True) -> tuple[int, str, str | None]:
        """POST a form (with the page's CSRF token unless told otherwise)."""
        form = dict(data or {})
        if csrf:
            form["_csrf"] = self.csrf
        async with self.http.post(path, data=form, allow_redirects=False) as resp:
            self.last = resp
            text = await resp.text(errors="replace")
            found = CSRF.search(text)
            if found:
                self.csrf = found[1]
            return resp.status, text, resp.headers.get("Location")

    async def sign_in(self, email: str, password: str = PASSWORD) -> tuple[int, str | None]:
        """Open the sign-in page and submit it; returns (status, redirect location)."""
        await self.get("/login")
        status, _, location = await self.post("/login", {"email": email, "password": password})
        if status == 303:
            await self.get("/")  # picks up the session's CSRF token
        return status, location

    def cookie(self, name: str) -> str | None:
        """A cookie's value as the client holds it."""
        for morsel in self.http.cookie_jar:
            if morsel.key == name:
                return morsel.value
        return None

    async def close(self) -> None:
        """Close the client."""
        await self.http.close()


async def start_site(tmp: Path, **settings: Any) -> Site:
    """Migrate, build the real app with background work off, serve it on a free port."""
    port = free_port()
    rt = Runtime(settings_for(tmp, port, **settings))
    upgrade(rt.engine)
    app = create_app(rt, Services(rt), background=False)
    clock = Clock()
    app[DASHBOARD].clock = clock
    server = TestServer(app, host="127.0.0.1", port=port)
    await server.start_server()
    return Site(rt, app, server, clock)


async def stop_site(site: Site) -> None:
    """Close agents, the server and the database."""
    for agent in site.agents:
        await agent.close()
    await site.server.close()
    site.rt.close()


def user_id(site: Site, email: str) -> str:
    """The id of a user by e-mail."""
    with Session(site.rt.engine) as session:
        user = session.exec(select(User).where(User.email == email)).one()
        return user.id
