"""Due-prompt rows: add one idempotently (the same thing planned twice inserts nothing)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col

from storage.models import DuePrompt, Participant, new_id, utcnow


def add_prompt(
    session: Session, *, participant: Participant, kind: str, dedupe_key: str, due_at: datetime,
    session_id: str | None = None,
) -> bool:
    """Insert a pending prompt unless (participant, dedupe_key) exists; True when inserted."""
    values = {"id": new_id(), "case_id": participant.case_id, "participant_id": participant.id,
              "kind": kind, "session_id": session_id, "dedupe_key": dedupe_key,
              "due_at": due_at, "status": "pending", "attempts": 0, "created_at": utcnow()}
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    result = session.execute(insert(DuePrompt).values(**values).on_conflict_do_nothing(
        index_elements=["participant_id", "dedupe_key"]).returning(col(DuePrompt.id)))
    return result.first() is not None


# How a survey ended -> its prompt's status. Only "answered" and "expired" say whether the
# person rated when asked; a STOP, a declined consent, a safety goodbye or a newer survey are
# their own outcomes and count neither way in the missing-ratings rule.
_ENDED = {"finished": "answered", "expired": "expired", "stopped": "stopped",
          "declined": "declined", "consent_unclear": "declined", "safety": "safety",
          "replaced": "replaced"}


def close_prompt(session: Session, prompt_id: str, *, reason: str) -> None:
    """The survey a prompt started has ended, for `reason` (SurveyCompleted's)."""
    prompt = session.get(DuePrompt, prompt_id)
    if prompt is not None:
        prompt.status = _ENDED.get(reason, "answered")
        session.add(prompt)
