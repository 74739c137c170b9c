"""Contact agreements: record who agreed to what, and read the current state per channel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import bindparam
from sqlalchemy import select as sa_select
from sqlmodel import Session

from storage.models import Consent, Participant, table_of

ACTIONS = ("given", "declined", "withdrawn", "resumed")
DEFAULT_SCOPE = "ratings,reminders"
SELF_CONSENT_AGE = 15  # children 15+ decide for themselves (DOMAIN.md)


def age_on(birth: date, day: date) -> int:
    """Whole years between a birth date and a day."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


@dataclass(frozen=True, slots=True)
class AgreementState:
    """The latest word from the person (and a custody holder) for one channel."""

    self_agreed: bool
    guardian_agreed: bool
    withdrawn: bool
    self_agreed_at_age: int | None = None  # the age at the person's latest own yes
    declined: bool = False  # the person's latest own word was "no thanks"

    def own_yes_counts(self, age: int | None) -> bool:
        """Whether the person's own yes stands at `age`.

        From 15 a child decides alone, so a yes given at 12 beside a custody holder's is
        asked again in the person's own right (DOMAIN.md); adults' age is not recorded.
        """
        if not self.self_agreed:
            return False
        if age is None or age < SELF_CONSENT_AGE:
            return True
        return self.self_agreed_at_age is None or self.self_agreed_at_age >= SELF_CONSENT_AGE


def record(
    session: Session, participant: Participant, *, action: str, given_by: str,
    recorded_by: str, at: datetime, age_at_time: int | None = None,
    scope: str = DEFAULT_SCOPE, text_version: str = "1", language: str | None = None,
    legal_basis: str | None = None, channel: str | None = None,
) -> Consent:
    """Append one agreement change (agreements are never edited, only added to)."""
    if action not in ACTIONS:
        raise ValueError(f"action must be one of {', '.join(ACTIONS)}")
    if given_by not in ("self", "guardian"):
        raise ValueError("given_by must be self or guardian")
    row = Consent(
        participant_id=participant.id, channel=channel or participant.channel, action=action,
        given_by=given_by, age_at_time=age_at_time, scope=scope, text_version=text_version,
        language=language or participant.language, recorded_by=recorded_by,
        legal_basis=legal_basis, created_at=at,
    )
    session.add(row)
    session.flush()
    return row


def state(session: Session, participant_id: str, channel: str) -> AgreementState:
    """Fold the agreement history of one participant and channel into its current state."""
    return states(session, [participant_id], channel).get(participant_id, NOTHING_AGREED)


NOTHING_AGREED = AgreementState(False, False, False)


_CONSENTS = table_of(Consent)
_HISTORY = (sa_select(_CONSENTS.c.participant_id, _CONSENTS.c.action, _CONSENTS.c.given_by,
                      _CONSENTS.c.age_at_time)
            .where(_CONSENTS.c.participant_id.in_(bindparam("ids", expanding=True)))
            .order_by(_CONSENTS.c.created_at, _CONSENTS.c.id))
_HISTORY_ON = _HISTORY.where(_CONSENTS.c.channel == bindparam("channel"))


def states(session: Session, participant_ids: list[str],
           channel: str | None = None) -> dict[str, AgreementState]:
    """The current state of many participants on one channel (or all channels), one query."""
    # Plain columns from a statement built once: a sweep batch reads the history of hundreds
    # at once, and every inbound message asks for one person's. Core does not flush the
    # session, so an agreement recorded a moment ago in this transaction is flushed first.
    session.flush()
    if channel is None:
        rows = session.connection().execute(_HISTORY, {"ids": participant_ids})
    else:
        rows = session.connection().execute(_HISTORY_ON, {"ids": participant_ids,
                                                          "channel": channel})
    history: dict[str, list[tuple[str, str, int | None]]] = {}
    for participant_id, action, given_by, age_at_time in rows:
        history.setdefault(participant_id, []).append((action, given_by, age_at_time))
    return {pid: _fold(items) for pid, items in history.items()}


def _fold(rows: list[tuple[str, str, int | None]]) -> AgreementState:
    """Replay one person's (action, given by, age at the time) entries, oldest first."""
    self_ok = guardian_ok = withdrawn = declined = False
    self_age: int | None = None
    for action, given_by, age_at_time in rows:
        if action == "resumed":
            # START lifts a withdrawal; it resumes only what was agreed before, never more.
            withdrawn = False
        elif action == "given":
            withdrawn = False
            if given_by == "guardian":
                guardian_ok = True
            else:
                self_ok, self_age, declined = True, age_at_time, False
        elif action == "declined":
            if given_by == "guardian":
                guardian_ok = False
            else:
                self_ok, declined = False, True
        elif action == "withdrawn":
            withdrawn = True
    return AgreementState(self_ok, guardian_ok, withdrawn, self_age, declined)
