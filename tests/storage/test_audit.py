"""The audit log's hash chain: editing any entry is found and named."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlmodel import Session

from consent import audit
from storage.db import make_engine
from storage.migrate import upgrade


def _log(path: Path, n: int) -> None:
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with Session(engine, expire_on_commit=False) as session:
        for i in range(n):
            audit.append(session, actor="cw@example.org", action="case.view", target=f"case:{i}")
        session.commit()
    engine.dispose()


def _verify(path: Path) -> audit.ChainReport:
    engine = make_engine(f"sqlite:///{path}")
    with Session(engine, expire_on_commit=False) as session:
        report = audit.verify(session)
    engine.dispose()
    return report


def test_an_untouched_chain_verifies(tmp_path: Path) -> None:
    _log(tmp_path / "a.db", 5)
    assert _verify(tmp_path / "a.db") == audit.ChainReport(True, 5)


def test_editing_an_entry_breaks_the_chain_at_that_entry(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    _log(db, 5)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE audit_log SET target = 'case:99' WHERE id = 3")
    report = _verify(db)
    assert (report.ok, report.first_broken_id) == (False, 3)


def test_deleting_an_entry_breaks_the_chain_after_it(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    _log(db, 5)
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM audit_log WHERE id = 2")
    report = _verify(db)
    assert (report.ok, report.first_broken_id) == (False, 3)


def test_postgresql_refuses_to_rewrite_the_audit_log(engine) -> None:
    import pytest
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    if engine.dialect.name != "postgresql":
        pytest.skip("the append-only trigger is PostgreSQL's; SQLite relies on `audit verify`")
    with Session(engine) as session:
        audit.append(session, actor="a", action="b")
        session.commit()
    for statement in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))
