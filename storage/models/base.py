"""Shared column helpers: ids, UTC timestamps and the encrypted-bytes column."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, LargeBinary, Table, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlmodel import Field


def new_id() -> str:
    """A 32-hex-digit id, known before insert so it can bind ciphertexts to the row.

    The microseconds since 1970 (14 digits) and then 72 random bits (18 digits): ids made
    later sort later, so a batch's rows land at the end of each id index instead of on
    hundreds of pages spread through it (halving the sweep's commit time at 100k rows).
    They reveal when the row was made, which its created_at says anyway; nothing uses an id
    as a secret (tokens come from `secrets`).
    """
    return f"{time.time_ns() // 1000:014x}{_random_hex18()}"


_ID_RANDOM = threading.local()


# A forked child must not hand out its parent's remaining random digits again.
os.register_at_fork(after_in_child=lambda: _ID_RANDOM.__dict__.clear())


def _random_hex18() -> str:
    """72 bits from the OS's random source, drawn 64 ids at a time: one system call each
    (which also hands the GIL to another thread) cost more than the rest of making an id."""
    pool: list[str] | None = getattr(_ID_RANDOM, "pool", None)
    if not pool:
        raw = os.urandom(9 * 64).hex()
        pool = _ID_RANDOM.pool = [raw[i:i + 18] for i in range(0, len(raw), 18)]
    return pool.pop()


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as UTC and always read back timezone-aware (SQLite forgets zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; use timezone-aware values")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        """The usual conversion, remembering the last value: batches bind one `now` a
        thousand times, and converting it is most of the cost of writing a row."""
        inner = super().bind_processor(dialect)
        if inner is None:
            return None
        convert = _fast_on_sqlite(dialect, inner)
        last: tuple[Any, Any] = (object(), None)

        def process(value: Any) -> Any:
            nonlocal last
            seen = last  # one read: another thread may replace the pair meanwhile
            if value is seen[0]:
                return seen[1]
            out = convert(value)
            last = (value, out)
            return out

        return process

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _sqlite_text(value: datetime) -> str:
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


_PROBES = (datetime(2026, 3, 29, 0, 59, 59, 999_999, tzinfo=UTC), datetime(1, 1, 1, tzinfo=UTC),
           datetime(9999, 12, 31, 23, 59, 59, 1, tzinfo=UTC))


def _fast_on_sqlite(dialect: Dialect, inner: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`inner`, with aware UTC times turned into SQLite's text by one C call instead of a
    dict and a format: a sweep batch binds thousands of distinct queue times. Only where
    it gives exactly SQLAlchemy's text (checked here, once); anything else, naive times
    included, still goes through `inner` and its checks."""
    if dialect.name != "sqlite" or any(inner(p) != _sqlite_text(p) for p in _PROBES):
        return inner

    def convert(value: Any) -> Any:
        if type(value) is datetime and value.tzinfo is UTC:
            return value.replace(tzinfo=None).isoformat(" ", "microseconds")
        return inner(value)

    return convert


def table_of(model: type[Any]) -> Table:
    """The Core table of a model, for statements built once and run many times."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


def id_field(**kw: Any) -> Any:
    """A primary key of random hex."""
    return Field(default_factory=new_id, primary_key=True, max_length=32, **kw)


def fk(target: str, *, index: bool = True, nullable: bool = False) -> Any:
    """A foreign key column holding a hex id."""
    return Field(foreign_key=target, index=index, max_length=32, nullable=nullable)


def ts(*, index: bool = False, nullable: bool = False, now: bool = False) -> Any:
    """A UTC timestamp column; `now=True` fills it at creation."""
    extra: dict[str, Any] = {"default_factory": utcnow} if now else {"default": None}
    return Field(sa_type=UTCDateTime(), index=index, nullable=nullable, **extra)


def sealed(*, nullable: bool = True) -> Any:
    """An encrypted value: AES-GCM ciphertext written only by storage.vault."""
    return Field(default=None, sa_type=LargeBinary(), nullable=nullable)
