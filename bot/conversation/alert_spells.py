"""Keeps a case's stored rule alerts in step with its ratings: after a survey, and daily."""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from reports.casefile import load_case_data
from reports.rules import ScoringRules
from reports.standing import standing_alerts
from storage.models import Case, DuePrompt
from storage.repo.rule_alerts import SpellChanges, record_rule_alerts
from storage.vault import Vault

log = structlog.get_logger("stemme.alerts")

# Prompts closed unanswered this recently are looked at by the daily run: the sweep marks a
# prompt missed two days after it was due, and an expired survey was recorded when it ended.
MISSED_WINDOW = timedelta(days=7)


def record_case_alerts(session: Session, vault: Vault, case_id: str, *, now: datetime,
                       rules: ScoringRules) -> SpellChanges:
    """Store the case's rule alerts that hold now, end those that no longer do (caller's
    transaction). A failure to evaluate is logged and writes nothing: the answers count more."""
    session.flush()  # this step's answers and prompt states, even where autoflush is off
    try:
        case = load_case_data(session, vault, case_id, now=now, comments=False)
        current = standing_alerts(case, now=now, rules=rules)
    except SQLAlchemyError:
        raise  # the transaction is broken: the caller's retry covers it
    except Exception as exc:  # a rule's bug must not lose a child's answers
        log.error("rule alerts not evaluated", error=type(exc).__name__)
        return SpellChanges()
    return record_rule_alerts(session, vault, case_id=case_id, current=current, now=now)


def record_missed(engine: Engine, vault: Vault, *, now: datetime, rules: ScoringRules,
                  window: timedelta = MISSED_WINDOW) -> int:
    """The daily run for missing ratings: the open cases with a prompt missed or expired in
    `window`, each in its own transaction. Returns how many rows were raised or cleared."""
    with Session(engine) as session:
        case_ids = list(session.exec(
            select(DuePrompt.case_id).join(Case, col(Case.id) == DuePrompt.case_id)
            .where(Case.status == "open", col(DuePrompt.status).in_(("missed", "expired")),
                   DuePrompt.due_at >= now - window).distinct()).all())
    changed = 0
    for case_id in case_ids:
        with Session(engine) as session:
            changes = record_case_alerts(session, vault, case_id, now=now, rules=rules)
            session.commit()
        changed += len(changes.raised) + len(changes.cleared)
    return changed
