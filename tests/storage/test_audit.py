"""The audit log's keyed chain and its anchors: every rewrite, recomputed chain, gap and
deleted tail is found and the first bad entry named."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from consent import audit
from consent.audit_anchors import Anchor, read_anchors, write_anchor
from storage.db import make_engine
from storage.migrate import upgrade

KEY = b"k" * 32


def keyed_engine(path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{path}")
    audit.bind_key(engine, KEY)
    return engine


def log(path: Path, n: int, *, key: bytes | None = KEY) -> None:
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    if key:
        audit.bind_key(engine, key)
    with Session(engine, expire_on_commit=False) as session:
        for i in range(n):
            audit.append(session, actor="cw@example.org", action="case.view", target=f"case:{i}")
        session.commit()
    engine.dispose()


def check(path: Path, anchors: list[Anchor] | None = None) -> audit.ChainReport:
    engine = keyed_engine(path)
    with Session(engine, expire_on_commit=False) as session:
        report = audit.verify(session, anchors or [])
    engine.dispose()
    return report


def recompute_rows(conn: sqlite3.Connection, first: int, last: int | None = None, *,
                   key: bytes | None = None) -> None:
    """What an attacker with the database but not the key file does after editing an entry:
    recompute the hashes of entries `first` to `last` (with no key, or a key of their own)."""
    rows = conn.execute("SELECT seq, at, actor, action, target, detail, prev_hash "
                        "FROM audit_log WHERE seq >= ? AND seq <= ? ORDER BY seq",
                        (first, last or 1 << 62)).fetchall()
    prev = rows[0][6]
    for seq, at, actor, action, target, detail, _ in rows:
        when = datetime.fromisoformat(at).replace(tzinfo=UTC)
        if key is None:
            body = json.dumps([prev, when.isoformat(), actor, action, target, detail],
                              ensure_ascii=False, separators=(",", ":"))
            new = hashlib.sha256(body.encode()).hexdigest()
        else:
            new = audit.entry_hash(prev, when, actor, action, target, detail, seq=seq, key=key)
        conn.execute("UPDATE audit_log SET prev_hash = ?, hash = ?, key_id = ? WHERE seq = ?",
                     (prev, new, None if key is None else "a1", seq))
        prev = new


def recompute_from(path: Path, first: int, *, key: bytes | None) -> None:
    """Every hash from entry `first` on recomputed."""
    with sqlite3.connect(path) as conn:
        recompute_rows(conn, first, key=key)


def test_an_untouched_chain_verifies_and_reports_its_head(tmp_path: Path) -> None:
    log(tmp_path / "a.db", 5)

    report = check(tmp_path / "a.db")

    assert (report.ok, report.entries) == (True, 5)
    assert report.head is not None and report.head.seq == 5


def test_editing_an_entry_names_that_entry(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    log(db, 5)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE audit_log SET target = 'case:99' WHERE seq = 3")

    report = check(db)

    assert (report.ok, report.first_broken_seq) == (False, 3)


def test_deleting_an_entry_names_the_gap(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    log(db, 5)
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM audit_log WHERE seq = 2")

    report = check(db)

    assert (report.ok, report.first_broken_seq) == (False, 2)
    assert "missing" in report.reason


def test_deleting_the_newest_entries_is_found_by_the_anchor(tmp_path: Path) -> None:
    db, anchors = tmp_path / "a.db", tmp_path / "anchors.jsonl"
    log(db, 5)
    head = check(db).head
    assert head is not None and write_anchor(anchors, head)
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM audit_log WHERE seq >= 4")

    unanchored = check(db)
    report = check(db, read_anchors(anchors))

    assert unanchored.ok  # the chain alone cannot tell: that is what the anchor is for
    assert (report.ok, report.first_broken_seq) == (False, 4)
    assert "deleted" in report.reason


def test_rewriting_an_entry_and_recomputing_the_chain_without_the_key_is_found(
        tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    log(db, 6)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE audit_log SET target = 'case:99' WHERE seq = 3")
    recompute_from(db, 3, key=None)

    report = check(db)

    assert (report.ok, report.first_broken_seq) == (False, 3)


def test_recomputing_the_chain_under_another_key_is_found(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    log(db, 6)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE audit_log SET target = 'case:99' WHERE seq = 2")
    recompute_from(db, 2, key=b"x" * 32)

    report = check(db)

    assert (report.ok, report.first_broken_seq) == (False, 2)


def test_entries_from_before_the_key_are_sealed_by_the_first_keyed_entry(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    log(db, 3, key=None)  # written before the audit key existed
    log(db, 2)
    assert check(db).ok
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE audit_log SET target = 'case:99' WHERE seq = 2")
        # the old part recomputed (plain SHA-256 needs no key), the keyed part left alone
        recompute_rows(conn, 2, 3)

    report = check(db)

    assert (report.ok, report.first_broken_seq) == (False, 4)


def test_a_whole_chain_recomputed_without_keys_is_found_by_the_anchor(tmp_path: Path) -> None:
    db, anchors = tmp_path / "a.db", tmp_path / "anchors.jsonl"
    log(db, 3, key=None)
    log(db, 2)
    head = check(db).head
    assert head is not None and write_anchor(anchors, head)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE audit_log SET target = 'case:99' WHERE seq = 2")
    recompute_from(db, 2, key=None)  # keyed entries rewritten as if from before the key

    report = check(db, read_anchors(anchors))

    assert check(db).ok  # a chain of plain hashes is consistent in itself ...
    assert (report.ok, report.first_broken_seq) == (False, 5)  # ... but not with its anchor


def test_an_anchor_is_written_once_per_head(tmp_path: Path) -> None:
    anchors = tmp_path / "anchors.jsonl"

    assert write_anchor(anchors, Anchor(3, "ab"))
    assert not write_anchor(anchors, Anchor(3, "ab"))
    assert write_anchor(anchors, Anchor(4, "cd"))

    assert read_anchors(anchors) == [Anchor(3, "ab"), Anchor(4, "cd")]
    assert anchors.stat().st_mode & 0o077 == 0


def test_postgresql_refuses_to_rewrite_delete_or_truncate_the_audit_log(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("the append-only triggers are PostgreSQL's; SQLite relies on the anchors")
    with Session(engine) as session:
        audit.append(session, actor="a", action="b")
        session.commit()
    for statement in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log",
                      "TRUNCATE audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))


def test_concurrent_writers_queue_on_the_chain_head_and_never_fork_it(engine: Engine) -> None:
    audit.bind_key(engine, KEY)
    failures: list[BaseException] = []

    def writer(number: int) -> None:
        try:
            for i in range(8):
                with Session(engine) as session:
                    audit.append(session, actor=f"w{number}", action="case.create",
                                 target=f"case:{number}-{i}")
                    session.commit()
        except BaseException as exc:  # collected: the spec is that there are none
            failures.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    with Session(engine) as session:
        report = audit.verify(session)
    assert failures == []
    assert (report.ok, report.entries) == (True, 128)
