"""Reads one case from storage into the plain `CaseData` the report functions work on.

The only module in reports/ that touches storage: everything else stays pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlmodel import Session, col, select

from reports.model import (
    AlertRecord,
    CaseData,
    Comment,
    Goal,
    ItemAnswer,
    PromptOutcome,
    Rater,
    SafetyEvent,
)
from storage.models import Alert, Answer, Case, DuePrompt, FreeText, Participant
from storage.repo.cases import goal_texts, view_case
from storage.vault import Vault

# Prompts that asked the person and have an outcome that says whether they rated: answered,
# or expired unanswered. Not a survey still running or replaced by a newer one ("sent"), one
# never sent ("missed", "cancelled"), nor a STOP, a declined consent or a safety goodbye.
ASKED = ("answered", "expired")


def load_case_data(session: Session, vault: Vault, case_id: str, *, now: datetime,
                   comments: bool = True, participant_id: str | None = None) -> CaseData:
    """The case's answers, raters, goals, what participants wrote, alerts and prompt outcomes.

    With `participant_id`, only that person's own answers and words (an art. 15 export).
    """
    case = session.get(Case, case_id)
    if case is None:
        raise LookupError(f"no case {case_id}")
    if case.status == "erased":  # its keys are destroyed: nothing is left to read
        day = (case.erased_at or now).date()
        return CaseData(case_id=case.id, ref=case.ref, child_birth_date=date(1900, 1, 1),
                        period=(case.opened_at.date(), day))
    view = view_case(session, vault, case)
    people = session.exec(select(Participant).where(Participant.case_id == case_id)).all()
    erased = [p.id for p in people if p.status == "erased"]
    raters = tuple(Rater(p.id, p.role, vault.open(session, p, "name")) for p in people
                   if p.status != "erased")
    query = select(Answer).where(Answer.case_id == case_id,
                                 col(Answer.participant_id).not_in(erased))
    if participant_id:
        query = query.where(Answer.participant_id == participant_id)
    answers = []
    for row in session.exec(query.order_by(col(Answer.answered_at), col(Answer.id))):
        score = vault.open(session, row, "score")
        answers.append(ItemAnswer(
            answered_at=row.answered_at, participant_id=row.participant_id,
            rater_role=row.rater_role, instrument=row.instrument,
            instrument_version=row.instrument_version, item=row.item,
            score=float(score) if score is not None else None, partial=row.partial,
            survey_id=row.conversation_id))
    records = alert_records(session, vault, case_id)
    notes = _messages(session, vault, case_id, people, records, participant_id) \
        if comments else ()
    safety = tuple(SafetyEvent(r.raised_at, r.participant_id, r.acknowledged_at)
                   for r in records if r.rule == "safety")
    prompts = tuple(PromptOutcome(p.due_at, p.participant_id, p.status == "answered")
                    for p in session.exec(select(DuePrompt).where(
                        DuePrompt.case_id == case_id, col(DuePrompt.status).in_(ASKED))
                        .order_by(col(DuePrompt.due_at))))
    goals = tuple(Goal(goal_id, position, text) for position, (goal_id, text)
                  in enumerate(goal_texts(session, vault, case_id), start=1))
    start = case.opened_at.date()
    last = max([a.answered_at.date() for a in answers] + [now.date(), start])
    return CaseData(
        case_id=case.id, ref=case.ref,
        child_birth_date=view.child_birth_date or date(1900, 1, 1), period=(start, last),
        raters=raters, answers=tuple(answers), goals=goals, comments=notes,
        safety_events=safety if not participant_id else (), prompts=prompts,
        alert_records=records if not participant_id else ())


def alert_records(session: Session, vault: Vault, case_id: str) -> tuple[AlertRecord, ...]:
    """The case's stored alert rows, oldest first, with their safety category opened."""
    rows = session.exec(select(Alert).where(Alert.case_id == case_id)
                        .order_by(col(Alert.raised_at), col(Alert.id))).all()
    return tuple(AlertRecord(
        a.id, a.rule, a.raised_at, a.participant_id,
        vault.open(session, a, "category") if a.category is not None else None,
        a.acknowledged_at, a.free_text_id, a.cleared_at) for a in rows)


def case_messages(session: Session, vault: Vault, case_id: str) -> tuple[Comment, ...]:
    """Everything the case's participants wrote, oldest first, each with its safety flag.

    An erased person's words are gone (their key is destroyed): they are not read at all.
    """
    people = session.exec(select(Participant).where(Participant.case_id == case_id)).all()
    return _messages(session, vault, case_id, people, alert_records(session, vault, case_id))


def _messages(session: Session, vault: Vault, case_id: str, people: Sequence[Participant],
              records: Sequence[AlertRecord], participant_id: str | None = None
              ) -> tuple[Comment, ...]:
    roles = {p.id: p.role for p in people if p.status != "erased"}
    flags: dict[str, str] = {}
    for record in records:  # oldest first: a text's first alert names its flag
        if record.free_text_id and record.category:
            flags.setdefault(record.free_text_id, record.category)
    query = select(FreeText).where(FreeText.case_id == case_id,
                                   col(FreeText.participant_id).in_(list(roles)))
    if participant_id:
        query = query.where(FreeText.participant_id == participant_id)
    return tuple(
        Comment(text.created_at, text.participant_id, roles[text.participant_id],
                vault.open(session, text, "text") or "", text.kind, flags.get(text.id))
        for text in session.exec(query.order_by(col(FreeText.created_at), col(FreeText.id))))
