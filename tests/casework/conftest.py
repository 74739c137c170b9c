"""A caseworker, a case and raters on a real database, with a fixed clock, for the specs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from casework import cases, participants
from storage.blind_index import BlindIndex
from storage.models import AuditEntry, Case, Participant, User
from storage.repo.users import create_user
from storage.vault import Vault

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
WORKER = "cw@kommune.dk"
PUBLIC_URL = "https://stemme.kommune.dk"


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """One session on the test's own migrated database."""
    with Session(engine, expire_on_commit=False) as s:
        yield s


@dataclass
class World:
    """What the specs act on: the session, the keys and a caseworker."""

    session: Session
    vault: Vault
    index: BlindIndex
    worker: User

    def user(self, email: str, role: str = "caseworker") -> User:
        """Another dashboard user."""
        return create_user(self.session, email=email, role=role, password=None)

    def case(self, *, born: date = date(2016, 5, 31), owner: User | None = None) -> Case:
        """An open case of a child born on `born`."""
        return cases.create_case(self.session, self.vault, actor=WORKER,
                                 caseworker=owner or self.worker, ref="K-1",
                                 child_name="Sofie", birth_date=born, cadence="law-minimum",
                                 now=NOW)

    def rater(self, case: Case, *, role: str = "child", channel: str = "webchat",
              phone: str | None = None) -> Participant:
        """A rater added to the case as a caseworker adds one."""
        return participants.add_participant(
            self.session, self.vault, self.index, case, actor=WORKER, role=role,
            channel=channel, name=None, phone=phone, language="da", guardian_consent=False,
            public_url=PUBLIC_URL, bot_username="stemme_bot", now=NOW).participant

    def audit(self, action: str) -> list[AuditEntry]:
        """The audit log's entries of one action, oldest first."""
        return list(self.session.exec(select(AuditEntry).where(AuditEntry.action == action)
                                      .order_by(col(AuditEntry.id))).all())


@pytest.fixture
def world(session: Session, vault: Vault, index: BlindIndex) -> World:
    """A caseworker on an empty database."""
    return World(session, vault, index, create_user(session, email=WORKER, role="caseworker",
                                                    password=None))
