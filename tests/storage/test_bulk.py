"""Driver-level batch writes: what they store reads back exactly as SQLAlchemy's own writes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, create_engine, insert
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.sqlite import DATETIME
from sqlmodel import Session, col, select

from storage import bulk
from storage.crypto import DecryptionError, Sealer, context, key_id_of, new_key, open_sealed
from storage.db import make_engine
from storage.models import OutboxMessage, table_of
from storage.repo import cases, outbox, outbox_queue
from storage.repo.outbox_queue import OutboxQueue
from storage.vault import Vault
from tests.storage.helpers import make_case, make_parent

_OUTBOX = table_of(OutboxMessage)
_COLUMNS = ("id", "idempotency_key", "channel", "purpose", "status", "attempts", "not_before",
            "created_at")
AT = datetime(2026, 3, 29, 0, 59, 59, 999_999, tzinfo=UTC)  # a microsecond before DST


def plain_row(row_id: str, key: str, at: datetime) -> dict[str, object]:
    return {"id": row_id, "idempotency_key": key, "channel": "sms", "purpose": "survey",
            "status": "pending", "attempts": 0, "not_before": at, "created_at": at}


def test_a_timestamp_the_driver_writes_is_stored_as_sqlalchemy_stores_it(engine: Engine) -> None:
    # Arrange: one row through SQLAlchemy, the same values through the driver.
    insert_many = bulk.insert_many(_OUTBOX, _COLUMNS)
    with engine.begin() as connection:
        connection.execute(insert(_OUTBOX), [plain_row("a" * 32, "core", AT)])
        stamp = bulk.binder(_OUTBOX, "created_at", connection.dialect)
        insert_many.execute(connection, [("b" * 32, "driver", "sms", "survey", "pending", 0,
                                          stamp(AT), stamp(AT))])

    # Assert: the stored values are the same (SQLite compares timestamps as text), they
    # compare with a bound time alike, and the ORM reads both back as the same aware time.
    with engine.connect() as connection:
        raw = connection.exec_driver_sql(
            "SELECT created_at FROM outbox ORDER BY id").scalars().all()
        assert raw[0] == raw[1]
        for bound in (AT, AT - timedelta(microseconds=1)):
            due = connection.execute(sa_select(_OUTBOX.c.id).where(_OUTBOX.c.created_at <= bound))
            assert len(due.all()) == (2 if bound == AT else 0)
    with Session(engine) as session:
        rows = session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all()
        assert [r.created_at for r in rows] == [AT, AT]
        assert [r.not_before for r in rows] == [AT, AT]


def test_a_driver_insert_skips_a_row_whose_unique_key_is_taken(engine: Engine) -> None:
    insert_many = bulk.insert_many(_OUTBOX, _COLUMNS, skip_conflicts_on=("idempotency_key",))
    with engine.begin() as connection:
        stamp = bulk.binder(_OUTBOX, "created_at", connection.dialect)
        first = ("a" * 32, "same", "sms", "survey", "pending", 0, stamp(AT), stamp(AT))
        again = ("b" * 32, "same", "telegram", "survey", "pending", 0, stamp(AT), stamp(AT))
        insert_many.execute(connection, [first, again])
        insert_many.execute(connection, [again])

    with engine.connect() as connection:
        rows = connection.execute(sa_select(_OUTBOX.c.id, _OUTBOX.c.channel)).all()
    assert [tuple(r) for r in rows] == [("a" * 32, "sms")]


def test_a_driver_update_changes_only_the_row_it_names(engine: Engine) -> None:
    update_many = bulk.update_many(_OUTBOX, ("status", "not_before"), where="id")
    later = AT + timedelta(hours=1)
    with engine.begin() as connection:
        connection.execute(insert(_OUTBOX), [plain_row("a" * 32, "one", AT),
                                             plain_row("b" * 32, "two", AT)])
        stamp = bulk.binder(_OUTBOX, "not_before", connection.dialect)
        update_many.execute(connection, [("cancelled", stamp(later), "b" * 32)])

    with Session(engine) as session:
        rows = session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all()
        assert [(r.status, r.not_before) for r in rows] == [("pending", AT),
                                                                  ("cancelled", later)]


def test_a_driver_delete_removes_only_the_rows_matching_every_column(engine: Engine) -> None:
    delete_many = bulk.delete_many(_OUTBOX, ("channel", "idempotency_key"))
    with engine.begin() as connection:
        connection.execute(insert(_OUTBOX), [plain_row(c * 32, key, AT)
                                             for c, key in (("a", "one"), ("b", "two"),
                                                            ("c", "three"))])
        delete_many.execute(connection, [("sms", "one"), ("telegram", "two"), ("sms", "three")])

    with Session(engine) as session:
        assert session.exec(select(OutboxMessage.idempotency_key)).all() == ["two"]


def test_driver_sql_names_only_real_columns_and_has_no_percent_signs() -> None:
    with pytest.raises(KeyError):
        bulk.insert_many(_OUTBOX, ("id", "nonsense"))
    with pytest.raises(KeyError):
        bulk.update_many(_OUTBOX, ("status",), where="nonsense")
    with pytest.raises(KeyError):
        bulk.delete_many(_OUTBOX, ("nonsense",))
    with pytest.raises(ValueError):
        bulk.DriverMany("UPDATE outbox SET last_error = '100%' WHERE id = ?")


def test_a_sealer_seals_as_seal_does_with_a_fresh_nonce_each_time() -> None:
    key, aad = new_key(), context("outbox", "payload", "r1")
    sealer = Sealer(key, "dk_1")
    first, second = sealer.seal(b"hej", aad), sealer.seal(b"hej", aad)
    assert first != second and key_id_of(first) == "dk_1"
    assert open_sealed(key, first, aad) == open_sealed(key, second, aad) == b"hej"
    with pytest.raises(DecryptionError):
        open_sealed(key, first, context("outbox", "payload", "r2"))


def test_outbox_rows_queued_together_read_back_as_one_enqueued_alone_does(
    engine: Engine, vault: Vault, index
) -> None:
    # Arrange: a parent; one message queued alone, two together in one queue.
    with Session(engine, expire_on_commit=False) as session:
        case = make_case(session, vault)
        parent = make_parent(session, vault, index, case)
        outbox_queue.enqueue(session, vault, participant=parent, channel="sms",
                       message={"text": "usual"}, purpose="survey", key="usual")
        queue = OutboxQueue(session.get_bind().dialect)
        sealer = vault.sealer(session, ("participant", parent.id), case.id)
        for text in ("hello", "question"):
            queue.add(sealer, participant_id=parent.id, case_id=case.id, channel="sms",
                      payload=json.dumps({"message": {"text": text}}).encode(),
                      purpose="consent", key=f"batch:{text}")
        queue.write(session.connection())
        session.commit()

    # Assert: each opens through the vault with the parent's key, with the same columns as
    # an enqueued row, and the batch's two are queued in order, a tick apart.
    with Session(engine) as session:
        found = {r.idempotency_key: r for r in session.exec(select(OutboxMessage))}
        usual, hello, question = found["usual"], found["batch:hello"], found["batch:question"]
        for row, text in ((usual, "usual"), (hello, "hello"), (question, "question")):
            assert outbox.open_payload(session, vault, row) == {"message": {"text": text}}
            assert (row.participant_id, row.case_id, row.channel) == (parent.id, case.id, "sms")
            assert (row.status, row.attempts, row.claimed_by) == ("pending", 0, None)
            assert row.not_before == row.created_at and row.created_at.tzinfo is not None
            assert key_id_of(bytes(row.payload or b"")) == key_id_of(bytes(usual.payload or b""))
        assert question.created_at - hello.created_at == timedelta(microseconds=1)
        assert hello.purpose == "consent"


@pytest.mark.parametrize("when", [
    AT, datetime(2026, 10, 25, 1, 0, tzinfo=UTC), datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC),
    datetime(2026, 7, 1, 12, 30, 0, 5, tzinfo=timezone(timedelta(hours=2))),
])
def test_a_timestamp_is_bound_as_sqlalchemy_binds_it_on_sqlite(when: datetime) -> None:
    # The timestamp column's conversion takes a shortcut for UTC times on SQLite; it must
    # give exactly the text SQLite's own DATETIME type gives for the same UTC time.
    dialect = make_engine("sqlite://").dialect
    expected = DATETIME().bind_processor(dialect)(when.astimezone(UTC).replace(tzinfo=None))
    assert bulk.binder(_OUTBOX, "created_at", dialect)(when) == expected


def test_a_naive_timestamp_is_still_refused() -> None:
    for backend in ("sqlite://", "postgresql+psycopg://"):
        engine = create_engine(backend)
        with pytest.raises(ValueError, match="naive"):
            bulk.binder(_OUTBOX, "created_at", engine.dialect)(datetime(2026, 1, 1))


def test_a_batch_opens_only_its_open_cases_as_one_at_a_time_would(
    engine: Engine, vault: Vault
) -> None:
    # Arrange: two cases; the second is closed in this very transaction, not yet flushed.
    with Session(engine, expire_on_commit=False) as session:
        kept = make_case(session, vault)
        closed = make_case(session, vault, name="Ida", email="cw2@example.org")
        session.commit()
        closed.status = "closed"
        session.add(closed)

        # Act
        views = cases.view_open_cases(session, vault, [kept.id, closed.id, "x" * 32])

        # Assert
        assert views == {kept.id: cases.view_case(session, vault, kept)}
        assert views[kept.id].child_name == "Sofie Zebrafinke Hansen"
