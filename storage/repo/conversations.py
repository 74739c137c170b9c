"""Writing a conversation's new state straight to the driver, keeping its loaded row in step."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, bindparam, update
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


_NEW_COLUMNS = ("id", "case_id", "participant_id", "prompt_id", "status", "version",
                "started_at", "updated_at", "remind_at", "expires_at", "state")
_INSERT = bulk.insert_many(_TABLE, _NEW_COLUMNS)
# Every survey still running for the person ends when a new one starts.
_CLOSE_RUNNING = (update(_TABLE).where(_TABLE.c.participant_id == bindparam("pid"),
                                       _TABLE.c.status == "active")
                  .values(status="replaced", updated_at=bindparam("now")))


class Started:
    """Surveys started in one step or batch, inserted together when it ends.

    Whatever ran before for the same people is closed ("replaced") first, in the same write.
    """

    def __init__(self) -> None:
        self.rows: list[tuple[object, ...]] = []
        self.replacing: list[dict[str, object]] = []

    def add(self, session: Session, conversation: Conversation, *, state: bytes, status: str,
            replaces_running: bool) -> None:
        """Queue `conversation` (not yet in the table) with its first sealed state."""
        stamp = bulk.binder(_TABLE, "started_at", session.get_bind().dialect)
        if replaces_running:
            self.replacing.append({"pid": conversation.participant_id,
                                   "now": conversation.started_at})
        self.rows.append((conversation.id, conversation.case_id, conversation.participant_id,
                          conversation.prompt_id, status, 1, stamp(conversation.started_at),
                          stamp(conversation.updated_at),
                          None if conversation.remind_at is None else stamp(
                              conversation.remind_at),
                          None if conversation.expires_at is None else stamp(
                              conversation.expires_at), state))
        for name, value in (("state", state), ("version", 1), ("status", status)):
            set_committed_value(conversation, name, value)

    def write(self, connection: Connection) -> None:
        """Close what ran before, then insert the new conversations."""
        if self.replacing:
            connection.execute(_CLOSE_RUNNING, self.replacing)
        if self.rows:
            _INSERT.execute(connection, self.rows)
        self.rows, self.replacing = [], []
