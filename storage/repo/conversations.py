"""Writing a conversation's new state straight to the driver, keeping its loaded row in step."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session

from storage import bulk
from storage.models import Conversation, table_of

_TABLE = table_of(Conversation)
_COLUMNS = ("state", "version", "updated_at", "status", "remind_at")
_UPDATE = bulk.update_many(_TABLE, _COLUMNS, where="id")


class StepQueue(bulk.Pending):
    """Survey steps, written together (one executemany) when the step or batch ends.

    Whoever reads conversations from the database while steps are queued must `write`
    first: a queued step is in the loaded rows, not yet in the table.
    """

    def __init__(self) -> None:
        super().__init__(_UPDATE)


def save_step(session: Session, conversation: Conversation, queue: StepQueue, *, state: bytes,
              updated_at: datetime, status: str, remind_at: datetime | None) -> None:
    """Queue one step's result (sealed state, next version, status) as one UPDATE.

    Every inbound message ends with this: the ORM's unit of work cost more than the UPDATE.
    The loaded row takes the same values as committed ones at once, so the session has
    nothing left to write for it.
    """
    version = conversation.version + 1
    stamp = bulk.binder(_TABLE, "updated_at", session.get_bind().dialect)
    queue.rows.append((state, version, stamp(updated_at), status,
                       None if remind_at is None else stamp(remind_at), conversation.id))
    for name, value in (("state", state), ("version", version), ("updated_at", updated_at),
                        ("status", status), ("remind_at", remind_at)):
        set_committed_value(conversation, name, value)
