"""Migrations: `upgrade head` on an empty database gives exactly the models."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, inspect, text
from sqlmodel import SQLModel

import storage.models  # noqa: F401
from storage import migrate
from storage.db import make_engine


def at_revision(db_url: str, revision: str) -> Engine:
    """An engine on a database migrated only up to `revision`."""
    eng = make_engine(db_url)
    cfg = migrate.alembic_config(eng.url.render_as_string(hide_password=False))
    with eng.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    return eng


def a_case(conn: Connection, now: str, participants: tuple[tuple[str, str, str], ...] = (
        ("p1", "webchat", "active"),)) -> None:
    """A caseworker u1, a case c1 and its participants (id, channel, status), as raw rows."""
    conn.execute(text("INSERT INTO users (id, email, role, active, created_at) "
                      "VALUES ('u1', 'cw@kommune.dk', 'caseworker', true, :now)"), {"now": now})
    conn.execute(text("INSERT INTO cases (id, ref, caseworker_id, cadence, status, opened_at, "
                      "created_at) VALUES ('c1', 'r1', 'u1', 'law-minimum', 'open', :now, "
                      ":now)"), {"now": now})
    for pid, channel, status in participants:
        conn.execute(text("INSERT INTO participants (id, case_id, role, channel, language, "
                          "status, rates_sessions, created_at) VALUES (:pid, 'c1', 'child', "
                          ":channel, 'da', :status, true, :now)"),
                     {"pid": pid, "channel": channel, "status": status, "now": now})


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
    eng = at_revision(db_url, "0001")
    now = "2026-12-01 12:00:00.000000"  # as both backends read a UTC time written as text
    with eng.begin() as conn:
        a_case(conn, now)
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
        # The unacknowledged urgent alert from before notices existed gets both (0004).
        kinds = conn.execute(text("SELECT kind FROM notices ORDER BY kind")).scalars().all()
        assert kinds == ["escalation", "urgent"]
    eng.dispose()


def test_upgrade_from_0002_keeps_alerts_and_leaves_their_spells_open(db_url: str) -> None:
    eng = at_revision(db_url, "0002")
    now = "2026-12-05 12:00:00.000000"  # as both backends read a UTC time written as text
    with eng.begin() as conn:
        a_case(conn, now)
        conn.execute(text("INSERT INTO free_texts (id, case_id, participant_id, text, kind, "
                          "created_at) VALUES ('f1', 'c1', 'p1', :blob, 'message', :now)"),
                     {"blob": b"sealed", "now": now})
        conn.execute(text("INSERT INTO alerts (id, case_id, participant_id, rule, severity, "
                          "raised_at, category, free_text_id, acknowledged_at, "
                          "acknowledged_by, note) VALUES ('a1', 'c1', 'p1', 'safety', "
                          "'urgent', :now, :blob, 'f1', :now, 'u1', :blob)"),
                     {"blob": b"sealed", "now": now})
        conn.execute(text("INSERT INTO alerts (id, case_id, participant_id, rule, severity, "
                          "raised_at) VALUES ('a2', 'c1', 'p1', 'own_consent_needed', "
                          "'normal', :now)"), {"now": now})
        conn.execute(text("INSERT INTO notices (id, alert_id, kind, status, due_at, attempts, "
                          "created_at) VALUES ('n1', 'a1', 'urgent', 'sent', :now, 1, :now)"),
                     {"now": now})

    before, after = migrate.upgrade(eng)

    assert (before, after) == ("0002", migrate.head_revision())
    with eng.connect() as conn:
        kept = conn.execute(text("SELECT id, rule, free_text_id, acknowledged_by, cleared_at "
                                 "FROM alerts ORDER BY id")).all()
        assert [tuple(r) for r in kept] == [("a1", "safety", "f1", "u1", None),
                                           ("a2", "own_consent_needed", None, None, None)]
        assert conn.execute(text("SELECT status FROM notices")).scalar_one() == "sent"
        assert conn.execute(text("SELECT kind FROM free_texts")).scalar_one() == "message"
    eng.dispose()


def test_upgrade_from_0003_leaves_only_each_persons_newest_invite_working(db_url: str) -> None:
    eng = at_revision(db_url, "0003")
    older, newer = "2026-11-20 12:00:00.000000", "2026-11-25 12:00:00.000000"
    later = "2026-12-20 12:00:00.000000"
    with eng.begin() as conn:
        a_case(conn, older, (("p1", "telegram", "active"), ("p2", "telegram", "withdrawn")))
        for iid, pid, made in (("i1", "p1", older), ("i2", "p1", newer), ("i3", "p2", newer)):
            conn.execute(text("INSERT INTO invites (id, participant_id, token_hash, expires_at, "
                              "created_at) VALUES (:iid, :pid, :iid, :exp, :made)"),
                         {"iid": iid, "pid": pid, "exp": later, "made": made})

    migrate.upgrade(eng)

    with eng.connect() as conn:
        rows = conn.execute(text("SELECT id, revoked_at IS NOT NULL FROM invites ORDER BY id"))
        assert [tuple(r) for r in rows] == [("i1", True), ("i2", False), ("i3", True)]
    eng.dispose()


def test_upgrade_from_0004_numbers_the_audit_log_and_keyed_entries_chain_on(db_url: str) -> None:
    from sqlmodel import Session

    from consent import audit

    eng = at_revision(db_url, "0004")
    with Session(eng) as session:  # entries as 0004's code wrote them: plain SHA-256, no seq
        prev = audit.GENESIS
        for i in range(3):
            at = datetime(2026, 12, 1, 12, i, tzinfo=UTC)
            digest = audit.entry_hash(prev, at, "cli", "case.view", f"case:{i}", "")
            session.execute(text("INSERT INTO audit_log (at, actor, action, target, detail, "
                                 "prev_hash, hash) VALUES (:at, 'cli', 'case.view', :target, "
                                 "'', :prev, :hash)"),
                            {"at": at.replace(tzinfo=None).isoformat(" ", "microseconds")
                             if eng.dialect.name == "sqlite" else at,
                             "target": f"case:{i}", "prev": prev, "hash": digest})
            prev = digest
        session.commit()

    migrate.upgrade(eng)
    audit.bind_key(eng, b"k" * 32)
    with Session(eng) as session:
        audit.append(session, actor="cli", action="case.view", target="case:3")
        session.commit()
        report = audit.verify(session)

    with eng.connect() as conn:
        rows = conn.execute(text("SELECT seq, key_id FROM audit_log ORDER BY id")).all()
    assert [tuple(r) for r in rows] == [(1, None), (2, None), (3, None), (4, "a1")]
    assert (report.ok, report.entries) == (True, 4)
    eng.dispose()


def test_upgrade_from_0005_keeps_cases_open_and_closed_without_a_reason(db_url: str) -> None:
    eng = at_revision(db_url, "0005")
    now = "2026-12-05 12:00:00.000000"  # as both backends read a UTC time written as text
    with eng.begin() as conn:
        a_case(conn, now)
        conn.execute(text("UPDATE cases SET status = 'closed', closed_at = :now"), {"now": now})

    before, after = migrate.upgrade(eng)

    assert (before, after) == ("0005", migrate.head_revision())
    with eng.connect() as conn:
        row = conn.execute(text("SELECT id, status, closed_reason FROM cases")).one()
        assert tuple(row) == ("c1", "closed", None)
    eng.dispose()


def test_upgrade_from_0006_keeps_users_and_cases_outside_any_team_or_provider(
        db_url: str) -> None:
    eng = at_revision(db_url, "0006")
    now = "2026-12-06 12:00:00.000000"  # as both backends read a UTC time written as text
    with eng.begin() as conn:
        a_case(conn, now)

    before, after = migrate.upgrade(eng)

    assert (before, after) == ("0006", migrate.head_revision())
    with eng.connect() as conn:
        user = conn.execute(text("SELECT email, role, team_id, provider_id FROM users")).one()
        case = conn.execute(text("SELECT id, caseworker_id, provider_id FROM cases")).one()
        assert tuple(user) == ("cw@kommune.dk", "caseworker", None, None)
        assert tuple(case) == ("c1", "u1", None)
        assert conn.execute(text("SELECT count(*) FROM deputies")).scalar_one() == 0
        conn.execute(text("INSERT INTO teams (id, name, created_at) VALUES ('t1', 'Vest', "
                          ":now)"), {"now": now})
        conn.execute(text("UPDATE users SET team_id = 't1'"))
        assert conn.execute(text("SELECT team_id FROM users")).scalar_one() == "t1"
    eng.dispose()
