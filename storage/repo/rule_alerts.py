"""The scoring rules' alerts as rows: one per rule and person per spell, cleared when it ends.

A spell starts when a rule (not on track, a low session rating, …) first holds for a person
and ends when it no longer holds: the row is written once, when raised, and gets `cleared_at`
when the spell ends; a later relapse is a new spell and a new row. Safety alerts are raised
by `storage.repo.alerts.raise_safety` and are never cleared here, nor are the rows of rules
this module does not own (a child turning 15).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlalchemy import update
from sqlmodel import Session, col, select

from storage.models import Alert
from storage.vault import Vault

# The rules whose spells are kept here: reports.alerts.RULES without "safety" (storage does
# not import reports; a spec keeps the two lists together).
SPELL_RULES = ("not_on_track", "reliable_worsening", "session_low", "session_drop",
               "rater_divergence", "missing_ratings")


class RuleAlert(Protocol):
    """A rule's alert that holds right now (reports.model.Alert has these fields)."""

    @property
    def rule(self) -> str: ...

    @property
    def participant_id(self) -> str | None: ...

    @property
    def raised_at(self) -> datetime: ...

    @property
    def severity(self) -> str: ...

    @property
    def detail(self) -> str: ...


@dataclass
class SpellChanges:
    """What one recording did: the rows raised (new spells) and the rows cleared."""

    raised: list[str] = field(default_factory=list)
    cleared: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.raised or self.cleared)


def open_spells(session: Session, case_id: str) -> list[Alert]:
    """The case's rule alerts whose spell is open (not cleared), oldest first."""
    return list(session.exec(
        select(Alert).where(Alert.case_id == case_id, col(Alert.rule).in_(SPELL_RULES),
                            col(Alert.cleared_at).is_(None))
        .order_by(col(Alert.raised_at), col(Alert.id))).all())


def record_rule_alerts(session: Session, vault: Vault, *, case_id: str,
                       current: Iterable[RuleAlert], now: datetime) -> SpellChanges:
    """Store the rule alerts that hold now and end the spells that no longer do.

    A (rule, person) in `current` without an open row gets one (its detail sealed with the
    case's key); an open row whose (rule, person) is not in `current` gets `cleared_at=now`.
    Safety alerts (and other rules' rows) are left alone. Calling it again with the same
    `current` writes nothing. In the caller's transaction.
    """
    holding: dict[tuple[str, str | None], RuleAlert] = {}
    for alert in current:
        if alert.rule in SPELL_RULES:
            holding.setdefault((alert.rule, alert.participant_id), alert)
    changes = SpellChanges()
    spells = open_spells(session, case_id)
    standing = {(row.rule, row.participant_id) for row in spells}
    changes.cleared = [row.id for row in spells if (row.rule, row.participant_id) not in holding]
    if changes.cleared:
        session.execute(update(Alert).where(col(Alert.id).in_(changes.cleared),
                                            col(Alert.cleared_at).is_(None))
                        .values(cleared_at=now))
    for (rule, participant_id), alert in sorted(holding.items(),
                                                key=lambda kv: kv[1].raised_at):
        if (rule, participant_id) in standing:
            continue
        row = Alert(case_id=case_id, participant_id=participant_id, rule=rule,
                    severity=alert.severity, raised_at=alert.raised_at)
        vault.seal(session, row, "detail", alert.detail)
        session.add(row)
        changes.raised.append(row.id)
    if changes:
        session.flush()
    return changes
