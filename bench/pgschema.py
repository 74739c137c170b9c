"""A throwaway PostgreSQL schema for a benchmark run, so runs never touch real data."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text


@contextmanager
def temporary_schema(url: str, label: str) -> Iterator[str]:
    """A database URL whose connections live in a new schema, dropped afterwards."""
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    schema = f"{label}_{os.getpid()}"
    with admin.connect() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in url else "?"
    try:
        yield f"{url}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
