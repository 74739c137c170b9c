"""A batch's outbox rows: sealed as they are queued, written in one driver executemany."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect

from storage import bulk
from storage.crypto import Sealer, context
from storage.models import OutboxMessage, new_id, table_of
from storage.repo.outbox import QueueClock

_TABLE = table_of(OutboxMessage)
_COLUMNS = ("id", "idempotency_key", "channel", "purpose", "participant_id", "case_id",
            "payload", "not_before", "status", "attempts", "created_at")
# As `outbox.enqueue`: a key already queued (the same cause seen twice) adds nothing.
_INSERT = bulk.insert_many(_TABLE, _COLUMNS, skip_conflicts_on=("idempotency_key",))

Row = tuple[Any, ...]


class OutboxBatch:
    """Builds the rows `outbox.sealed_row` would, as driver tuples, one queue time apiece.

    Rows get strictly increasing queue times in the order they are made (`QueueClock`), so
    the dispatcher sends each person's messages in order and a batch's people in turn.
    """

    def __init__(self, dialect: Dialect) -> None:
        self._clock = QueueClock()
        # Both timestamp columns are UTCDateTime: one conversion serves the two.
        self._stamp = bulk.binder(_TABLE, "created_at", dialect)

    def row(self, sealer: Sealer, *, participant_id: str, case_id: str, channel: str,
            payload: bytes, purpose: str, key: str) -> Row:
        """One pending message for `participant_id`, its payload (JSON, UTF-8) sealed with
        `sealer` (the participant's own key, from `Vault.sealer`)."""
        row_id = new_id()
        at = self._stamp(self._clock())
        sealed = sealer.seal(payload, context(_TABLE.name, "payload", row_id))
        return (row_id, key, channel, purpose, participant_id, case_id, sealed, at, "pending",
                0, at)

    @staticmethod
    def write(connection: Connection, rows: list[Row]) -> None:
        """Queue the rows in one executemany, in the caller's transaction."""
        _INSERT.execute(connection, rows)


class OutboxQueue(bulk.Pending):
    """Messages queued during a batch of work, written together at its end."""

    def __init__(self, dialect: Dialect) -> None:
        super().__init__(_INSERT)
        self._batch = OutboxBatch(dialect)

    def add(self, sealer: Sealer, *, participant_id: str, case_id: str, channel: str,
            payload: bytes, purpose: str, key: str) -> None:
        """Queue one message (see `OutboxBatch.row`); queue times increase in call order."""
        self.rows.append(self._batch.row(sealer, participant_id=participant_id,
                                         case_id=case_id, channel=channel, payload=payload,
                                         purpose=purpose, key=key))
