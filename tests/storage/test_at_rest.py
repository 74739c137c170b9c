"""Nothing readable in a stolen database: a raw scan finds no names, numbers, scores or text."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Session

from storage.blind_index import BlindIndex
from storage.db import make_engine
from storage.migrate import upgrade
from storage.repo.answers import ItemScore, record_answer, record_free_text
from storage.repo.cases import link_chat
from storage.vault import Vault
from tests.storage.helpers import make_case, make_parent

SECRETS = ["Sofie Zebrafinke Hansen", "Zebrafinke", "Mette Kirkegaard", "12345678",
           "+4512345678", "987654321", "min hund Fido", "2014-05-31"]


def _raw_bytes(db: Path) -> bytes:
    return b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))


def test_a_raw_scan_of_the_sqlite_file_finds_nothing_in_the_clear(
    tmp_path: Path, vault: Vault, index: BlindIndex
) -> None:
    db = tmp_path / "stemme.db"
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    now = datetime(2026, 11, 20, 15, 10, tzinfo=UTC)
    with Session(engine, expire_on_commit=False) as session:
        case = make_case(session, vault)
        parent = make_parent(session, vault, index, case)
        link_chat(session, vault, index, parent, 987654321)
        for item, score in (("me", 7.5), ("family", 3.0), ("school", 9.0), ("overall", 6.5)):
            record_answer(session, vault, parent,
                          ItemScore("outcome-observer", "1", item, score), answered_at=now)
        record_free_text(session, vault, parent, "Jeg vil gerne tale om min hund Fido")
        session.commit()
    engine.dispose()

    raw = _raw_bytes(db)
    for secret in SECRETS:
        for encoding in ("utf-8", "utf-16-le"):
            assert secret.encode(encoding) not in raw, f"{secret!r} found in the clear"
    with sqlite3.connect(db) as conn:
        scores = [row[0] for row in conn.execute("SELECT score FROM answers")]
    assert len(scores) == 4
    assert all(s[:2] == b"S1" and len(s) > 40 for s in scores), "scores must be ciphertexts"
