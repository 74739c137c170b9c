"""Children who turn 15 during a case decide for themselves: flag them for the caseworker."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session, col, select

from consent.agreements import SELF_CONSENT_AGE, age_on, state
from storage.models import Alert, Case, Participant
from storage.vault import Vault

RULE = "own_consent_needed"


def flag_new_fifteens(session: Session, vault: Vault, now: datetime) -> list[str]:
    """Raise one alert per child now 15+ whose own yes predates 15; returns their ids.

    The child is asked in the next survey (the engine opens with the consent question,
    because the gate no longer counts the earlier yes); the caseworker is told here.
    """
    flagged = set(session.exec(select(Alert.participant_id).where(Alert.rule == RULE)).all())
    children = session.exec(
        select(Participant).join(Case, col(Case.id) == Participant.case_id)
        .where(Participant.role == "child", Participant.status == "active",
               Case.status == "open")).all()
    raised = []
    for child in children:
        if child.id in flagged:
            continue
        born = vault.open(session, child, "birth_date")
        if not born:
            continue
        age = age_on(date.fromisoformat(born), now.date())
        agreed = state(session, child.id, child.channel)
        if age >= SELF_CONSENT_AGE and not agreed.own_yes_counts(age):
            alert = Alert(case_id=child.case_id, participant_id=child.id, rule=RULE,
                          severity="normal", raised_at=now)
            vault.seal(session, alert, "detail",
                       "the child is 15 and decides alone: asked for their own agreement")
            session.add(alert)
            raised.append(child.id)
    return raised
