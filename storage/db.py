"""Database engines and sessions: SQLite (WAL) by default, PostgreSQL with the same code."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, create_engine


class DatabaseUnavailable(Exception):
    """The database cannot be reached; the message names the URL (without password)."""


def safe_url(url: str) -> str:
    """The URL with any password hidden, for messages and logs."""
    return make_url(url).render_as_string(hide_password=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers (dashboard, reports) run while the dispatcher writes; busy_timeout makes
    # a second writer wait instead of failing; foreign keys are off by default in SQLite.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    # A checkpoint every 64 MB of WAL instead of every 4 MB: in WAL mode with synchronous=
    # NORMAL only checkpoints fsync, and a sweep batch rewrites the same index pages many
    # times between them (100k due prompts: about 1,400 -> 1,600 started/s together with the
    # larger page cache, which keeps the indexes of a large case load in memory). Both are
    # caps, not allocations: 16 MB of cache per pooled connection, filled only by reading.
    cursor.execute("PRAGMA wal_autocheckpoint=16384")
    cursor.execute("PRAGMA cache_size=-16384")
    cursor.close()


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine for `url`; creates the folder of a SQLite file."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            path = Path(parsed.database)
            path.parent.mkdir(parents=True, exist_ok=True)
            # Sealed or not, the database is nobody else's business: owner-only from birth.
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        engine = create_engine(
            url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30},
            hide_parameters=True,  # SQL errors would otherwise echo sealed and plain values
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=10,
                         hide_parameters=True)


def is_postgres(engine: Engine) -> bool:
    """True on PostgreSQL (row claims use FOR UPDATE SKIP LOCKED there)."""
    return engine.dialect.name == "postgresql"


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def ping(engine: Engine) -> None:
    """Check that the database answers."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any driver error means "not reachable" to an operator
        raise DatabaseUnavailable(
            f"database {safe_url(str(engine.url))} does not answer: {exc.__class__.__name__}"
        ) from exc
