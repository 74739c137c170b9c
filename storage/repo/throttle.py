"""Counting attempts per blind key and window, shared by every process through the database."""

from __future__ import annotations

from sqlalchemy import delete, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from storage.models import Throttle


def hit(session: Session, key: str, window: str) -> int:
    """Count one attempt for (key, window); returns the count including this one."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(Throttle).values(key=key, window=window, count=0)
                    .on_conflict_do_nothing(index_elements=["key", "window"]))
    session.execute(update(Throttle).where(col(Throttle.key) == key,
                                           col(Throttle.window) == window)
                    .values(count=Throttle.count + 1))
    return int(session.exec(select(Throttle.count).where(
        Throttle.key == key, Throttle.window == window)).one())


def forget(session: Session, key: str, window: str) -> None:
    """Drop the count for (key, window): the next `hit` counts 1 again."""
    session.execute(delete(Throttle).where(col(Throttle.key) == key,
                                           col(Throttle.window) == window))


def count(session: Session, key: str, window: str) -> int:
    """The attempts counted so far for (key, window), without counting one more."""
    found = session.exec(select(Throttle.count).where(
        Throttle.key == key, Throttle.window == window)).first()
    return int(found or 0)
