"""Shared pytest options and fixtures: golden-file updates and the database backends."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from storage import migrate
from storage.blind_index import BlindIndex
from storage.db import make_engine
from storage.keys import KeyRing
from storage.vault import Vault

POSTGRES_URL = os.environ.get("STEMME_TEST_POSTGRES_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite golden files (tests/transcripts/...) instead of comparing with them",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    """True when the run was asked to regenerate golden files."""
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database per test: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'stemme.db'}"
        return
    assert POSTGRES_URL
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in POSTGRES_URL else "?"
    try:
        # search_path in the URL keeps every connection (and Alembic) inside the test's schema.
        yield f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A migrated database engine on each backend."""
    eng = make_engine(db_url)
    migrate.upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def ring(tmp_path: Path) -> KeyRing:
    """A key ring stored in a temporary key file."""
    return KeyRing.load(tmp_path / "keys" / "keys.json")


@pytest.fixture
def vault(ring: KeyRing) -> Vault:
    """Field encryption over the temporary key ring."""
    return Vault(ring)


@pytest.fixture
def index(ring: KeyRing) -> BlindIndex:
    """Blind indexes over the temporary key ring."""
    return BlindIndex(ring)
