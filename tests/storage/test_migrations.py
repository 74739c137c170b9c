"""Migrations: `upgrade head` on an empty database gives exactly the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect
from sqlmodel import SQLModel

import storage.models  # noqa: F401
from storage import migrate


def test_upgrade_head_on_an_empty_database_equals_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, SQLModel.metadata)
    assert diff == []


def test_upgrade_twice_is_harmless(engine: Engine) -> None:
    before, after = migrate.upgrade(engine)
    assert before == after == migrate.head_revision()
    assert "answers" in inspect(engine).get_table_names()
