"""Item answers and free text: sealed on the way in, opened for reports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from storage import bulk
from storage.models import Answer, FreeText, Participant, new_id, table_of
from storage.vault import Vault

_ANSWERS = table_of(Answer)
# Every inbound rating writes through these: handed to the driver as tuples, since
# SQLAlchemy's handling of each statement cost more than the statement.
_REPLACED = bulk.delete_many(_ANSWERS, ("conversation_id", "instrument", "item"))
_COLUMNS = ("id", "case_id", "participant_id", "conversation_id", "rater_role", "instrument",
            "instrument_version", "item", "score", "skipped", "partial", "answered_at")
_INSERT = bulk.insert_many(_ANSWERS, _COLUMNS)
# comment: the answer to the free-text question; message: anything else the person wrote
FREE_TEXT_KINDS = ("comment", "message")


@dataclass(frozen=True, slots=True)
class ItemScore:
    """One item's score as the flow engine produced it (None when skipped)."""

    instrument: str
    instrument_version: str
    item: str
    score: float | None
    skipped: bool = False
    partial: bool = False


@dataclass(frozen=True, slots=True)
class AnswerView:
    """One stored answer, opened."""

    id: str
    answered_at: datetime
    participant_id: str
    rater_role: str
    instrument: str
    instrument_version: str
    item: str
    score: float | None
    skipped: bool
    partial: bool


def _check_score(item: ItemScore) -> None:
    if item.score is not None and not 0 <= item.score <= 10:
        raise ValueError(f"score {item.score} is outside 0-10")


def record_answer(
    session: Session,
    vault: Vault,
    person: Participant,
    item: ItemScore,
    *,
    answered_at: datetime,
    conversation_id: str | None = None,
) -> Answer:
    """Store one item answer; a score outside 0-10 is refused before anything is written.

    Surveys write a message's answers with `record_answers`, which also replaces an earlier
    answer to the same item; this is for one-off answers (the demo, imports, tests).
    """
    _check_score(item)
    row = Answer(
        case_id=person.case_id, participant_id=person.id, conversation_id=conversation_id,
        rater_role=person.role, instrument=item.instrument,
        instrument_version=item.instrument_version, item=item.item, skipped=item.skipped,
        partial=item.partial, answered_at=answered_at,
    )
    vault.seal(session, row, "score", None if item.score is None else f"{item.score:.1f}")
    session.add(row)
    return row


def record_answers(
    session: Session,
    vault: Vault,
    person: Participant,
    items: list[ItemScore],
    *,
    answered_at: datetime,
    conversation_id: str,
) -> list[str]:
    """Store the answers one message gave in a conversation, replacing earlier answers to the
    same items there (the newest counts); one batched DELETE and one batched INSERT.

    Every score is checked before anything is written. Later items in `items` win over
    earlier ones to the same item. Returns the new rows' ids.
    """
    latest = {(item.instrument, item.item): item for item in items}
    for item in latest.values():
        _check_score(item)
    connection = session.connection()
    flag = bulk.binder(_ANSWERS, "skipped", connection.dialect)
    stamp = bulk.binder(_ANSWERS, "answered_at", connection.dialect)
    _REPLACED.execute(connection, [(conversation_id, instrument, item_id)
                                   for instrument, item_id in latest])
    rows, ids, at = [], [], stamp(answered_at)
    for item in latest.values():
        row_id = new_id()
        ids.append(row_id)
        score = None if item.score is None else vault.seal_value(
            session, table="answers", column="score", row_id=row_id,
            owner=("participant", person.id), case_id=person.case_id,
            value=f"{item.score:.1f}")
        rows.append((row_id, person.case_id, person.id, conversation_id, person.role,
                     item.instrument, item.instrument_version, item.item, score,
                     flag(item.skipped), flag(item.partial), at))
    _INSERT.execute(connection, rows)
    return ids


def mark_partial(session: Session, conversation_id: str) -> None:
    """The survey ended unfinished: its answers, this step's too, are marked partial."""
    session.flush()  # this step's answers too, even where autoflush is off
    session.execute(update(Answer).where(col(Answer.conversation_id) == conversation_id)
                    .values(partial=True))


def record_free_text(
    session: Session, vault: Vault, person: Participant, text: str,
    *, conversation_id: str | None = None, at: datetime | None = None, kind: str = "comment",
) -> FreeText:
    """Store what a person wrote, sealed: a "comment" (the free-text question) or a "message"."""
    if kind not in FREE_TEXT_KINDS:
        raise ValueError(f"free text kind must be one of {FREE_TEXT_KINDS}, got {kind!r}")
    row = FreeText(case_id=person.case_id, participant_id=person.id,
                   conversation_id=conversation_id, kind=kind)
    if at is not None:
        row.created_at = at
    vault.seal(session, row, "text", text)
    session.add(row)
    return row


def _view(session: Session, vault: Vault, row: Answer) -> AnswerView:
    score = vault.open(session, row, "score")
    return AnswerView(
        id=row.id, answered_at=row.answered_at, participant_id=row.participant_id,
        rater_role=row.rater_role, instrument=row.instrument,
        instrument_version=row.instrument_version, item=row.item,
        score=float(score) if score is not None else None, skipped=row.skipped,
        partial=row.partial,
    )


def case_answers(session: Session, vault: Vault, case_id: str) -> list[AnswerView]:
    """Every answer in a case, oldest first."""
    rows = session.exec(select(Answer).where(Answer.case_id == case_id)
                        .order_by(col(Answer.answered_at), col(Answer.id))).all()
    return [_view(session, vault, r) for r in rows]


def participant_answers(session: Session, vault: Vault, participant_id: str) -> list[AnswerView]:
    """Every answer one participant gave, oldest first."""
    rows = session.exec(select(Answer).where(Answer.participant_id == participant_id)
                        .order_by(col(Answer.answered_at), col(Answer.id))).all()
    return [_view(session, vault, r) for r in rows]


def case_free_texts(
    session: Session, vault: Vault, case_id: str
) -> list[tuple[datetime, str, str]]:
    """Free texts in a case as (time, participant id, text), oldest first."""
    rows = session.exec(select(FreeText).where(FreeText.case_id == case_id)
                        .order_by(col(FreeText.created_at))).all()
    return [(r.created_at, r.participant_id, vault.open(session, r, "text") or "") for r in rows]
