"""Migrations: `upgrade head` on an empty database gives exactly the models."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlmodel import SQLModel

import storage.models  # noqa: F401
from storage import migrate
from storage.db import make_engine


def test_upgrade_head_on_an_empty_database_equals_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, SQLModel.metadata)
    assert diff == []


def test_upgrade_twice_is_harmless(engine: Engine) -> None:
    before, after = migrate.upgrade(engine)
    assert before == after == migrate.head_revision()
    assert "answers" in inspect(engine).get_table_names()


def test_upgrade_from_0001_keeps_rows_and_marks_old_texts_as_comments(db_url: str) -> None:
    eng = make_engine(db_url)
    cfg = migrate.alembic_config(eng.url.render_as_string(hide_password=False))
    with eng.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    now = "2026-12-01 12:00:00.000000"  # as both backends read a UTC time written as text
    with eng.begin() as conn:
        conn.execute(text("INSERT INTO users (id, email, role, active, created_at) "
                          "VALUES ('u1', 'cw@kommune.dk', 'caseworker', true, :now)"),
                     {"now": now})
        conn.execute(text("INSERT INTO cases (id, ref, caseworker_id, cadence, status, "
                          "opened_at, created_at) VALUES ('c1', 'r1', 'u1', 'law-minimum', "
                          "'open', :now, :now)"), {"now": now})
        conn.execute(text("INSERT INTO participants (id, case_id, role, channel, language, "
                          "status, rates_sessions, created_at) VALUES ('p1', 'c1', 'child', "
                          "'webchat', 'da', 'active', true, :now)"), {"now": now})
        conn.execute(text("INSERT INTO free_texts (id, case_id, participant_id, text, "
                          "created_at) VALUES ('f1', 'c1', 'p1', :blob, :now)"),
                     {"blob": b"sealed", "now": now})
        conn.execute(text("INSERT INTO alerts (id, case_id, participant_id, rule, severity, "
                          "raised_at) VALUES ('a1', 'c1', 'p1', 'safety', 'urgent', :now)"),
                     {"now": now})
        conn.execute(text("INSERT INTO invites (id, participant_id, token_hash, expires_at, "
                          "created_at) VALUES ('i1', 'p1', 'h', :now, :now)"), {"now": now})

    before, after = migrate.upgrade(eng)

    assert (before, after) == ("0001", migrate.head_revision())
    with eng.connect() as conn:
        assert conn.execute(text("SELECT kind FROM free_texts")).scalar_one() == "comment"
        alert = conn.execute(text("SELECT rule, category, note, free_text_id FROM alerts")).one()
        assert tuple(alert) == ("safety", None, None, None)
        assert conn.execute(text("SELECT revoked_at FROM invites")).scalar_one() is None
        assert conn.execute(text("SELECT count(*) FROM notices")).scalar_one() == 0
    eng.dispose()
