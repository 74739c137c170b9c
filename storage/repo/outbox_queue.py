"""Adding outbox rows, the one way: each sealed as it is queued, a batch in one executemany."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlmodel import Session

from storage import bulk
from storage.crypto import Sealer, context
from storage.models import OutboxMessage, Participant, new_id, table_of, utcnow
from storage.vault import Vault

_TABLE = table_of(OutboxMessage)
_COLUMNS = ("id", "idempotency_key", "channel", "purpose", "participant_id", "case_id",
            "payload", "not_before", "status", "attempts", "created_at")
# A key already queued (the same cause seen twice, e.g. a redelivered message) adds nothing.
_INSERT = bulk.insert_many(_TABLE, _COLUMNS, skip_conflicts_on=("idempotency_key",))


def payload_json(message: dict[str, Any], address: str | None = None) -> str:
    """An outbox row's payload before sealing: the message, and where to if not the person's."""
    body: dict[str, Any] = {"message": message}
    if address is not None:
        body["address"] = address
    return json.dumps(body, ensure_ascii=False)


class QueueClock:
    """Strictly increasing queue times from now, a microsecond apart: one per message.

    Two clock readings in a row can be equal, and the dispatcher sends by queue time: the
    messages of one step (a greeting, then the first question) must not tie, and those of a
    sweep batch stay in the order they were queued, each person's together.
    """

    _TICK = timedelta(microseconds=1)

    def __init__(self) -> None:
        self._last = utcnow() - self._TICK

    def __call__(self) -> datetime:
        self._last += self._TICK
        return self._last


class OutboxQueue(bulk.Pending):
    """Messages queued during a step or a batch of work, written together at its end."""

    def __init__(self, dialect: Dialect) -> None:
        super().__init__(_INSERT)
        self._clock = QueueClock()
        # Both timestamp columns are UTCDateTime: one conversion serves the two.
        self._stamp = bulk.binder(_TABLE, "created_at", dialect)

    def add(self, sealer: Sealer, *, participant_id: str | None, case_id: str | None,
            channel: str, payload: bytes, purpose: str, key: str,
            not_before: datetime | None = None) -> None:
        """Queue one pending message, its payload (JSON, UTF-8) sealed with `sealer` (the
        participant's own key, from `Vault.sealer`); queue times increase in call order."""
        row_id = new_id()
        at = self._stamp(self._clock())
        sealed = sealer.seal(payload, context(_TABLE.name, "payload", row_id))
        due = at if not_before is None else self._stamp(not_before)
        self.rows.append((row_id, key, channel, purpose, participant_id, case_id, sealed, due,
                          "pending", 0, at))

    def write(self, connection: Connection) -> None:
        """Queue the rows in one executemany, in the caller's transaction."""
        super().write(connection)


def enqueue(session: Session, vault: Vault, *, participant: Participant | None, channel: str,
            message: dict[str, Any], purpose: str, key: str,
            not_before: datetime | None = None, address: str | None = None) -> None:
    """Queue one message now (a queue of one), unless one with this idempotency key exists.

    The key is derived from what caused the message (conversation, step, index), so
    processing the same inbound message twice cannot queue its replies twice.
    """
    owner = participant.key_owner() if participant else ("system", "system")
    case_id = participant.case_id if participant else None
    queue = OutboxQueue(session.get_bind().dialect)
    queue.add(vault.sealer(session, owner, case_id),
              participant_id=participant.id if participant else None, case_id=case_id,
              channel=channel, payload=payload_json(message, address).encode("utf-8"),
              purpose=purpose, key=key, not_before=not_before)
    queue.write(session.connection())
