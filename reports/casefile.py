"""Reads one case from storage into the plain `CaseData` the report functions work on.

The only module in reports/ that touches storage: everything else stays pure.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session, col, select

from reports.model import CaseData, Comment, Goal, ItemAnswer, PromptOutcome, Rater, SafetyEvent
from storage.models import Alert, Answer, Case, DuePrompt, FreeText, Participant
from storage.repo.cases import goal_texts, view_case
from storage.vault import Vault

# Prompts that asked the person something; "answered" is the only good outcome.
ASKED = ("sent", "answered", "expired", "missed")


def load_case_data(session: Session, vault: Vault, case_id: str, *, now: datetime,
                   comments: bool = True, participant_id: str | None = None) -> CaseData:
    """The case's answers, raters, goals, comments, safety events and prompt outcomes.

    With `participant_id`, only that person's own answers and comments (an art. 15 export).
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
    notes: list[Comment] = []
    if comments:
        roles = {p.id: p.role for p in people}
        texts = select(FreeText).where(FreeText.case_id == case_id,
                                       col(FreeText.participant_id).not_in(erased))
        if participant_id:
            texts = texts.where(FreeText.participant_id == participant_id)
        for text in session.exec(texts.order_by(col(FreeText.created_at))):
            notes.append(Comment(text.created_at, text.participant_id,
                                 roles.get(text.participant_id, "other"),
                                 vault.open(session, text, "text") or ""))
    safety = tuple(SafetyEvent(a.raised_at, a.participant_id, a.acknowledged_at)
                   for a in session.exec(select(Alert).where(
                       Alert.case_id == case_id, Alert.rule == "safety")))
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
        raters=raters, answers=tuple(answers), goals=goals, comments=tuple(notes),
        safety_events=safety if not participant_id else (), prompts=prompts)
