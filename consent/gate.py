"""The one contact gate, asked at send time: may this person be contacted for this purpose now?

Rules (DOMAIN.md): contact needs a clear yes, recorded; children 15+ decide for themselves; for
younger children a custody holder agrees and the child is still asked; a withdrawal, an ended
case or an unreachable participant stops everything before the next message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session

from consent.agreements import SELF_CONSENT_AGE, age_on, state
from storage.models import Case, Participant
from storage.vault import Vault

# What a message is for. Replies answer something the person just wrote (help, a re-ask, the
# confirmation of STOP); everything else is Stemme reaching out and needs the agreement.
# A goodbye is the one message a closed case still sends: once, to those who agreed to contact.
PURPOSES = ("survey", "reminder", "consent", "reply", "stop_confirmation", "goodbye")
BLOCKED_STATUSES = ("withdrawn", "unreachable", "erased")


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether a message may go out, and a stable reason code when it may not."""

    allowed: bool
    reason: str = "ok"

    def __bool__(self) -> bool:
        return self.allowed


class ContactGate:
    """Reads agreements, participant and case status; never caches a yes."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault

    def _age(self, session: Session, person: Participant, today: date) -> int | None:
        born = self.vault.open(session, person, "birth_date")
        return age_on(date.fromisoformat(born), today) if born else None

    def may_contact(
        self, session: Session, person: Participant, purpose: str, channel: str, now: datetime
    ) -> Decision:
        """Decide for one message; the dispatcher calls this right before every send."""
        if purpose not in PURPOSES:
            raise ValueError(f"unknown purpose {purpose!r}; one of {', '.join(PURPOSES)}")
        if person.status == "erased":
            return Decision(False, "participant:erased")
        if person.status == "unreachable":
            return Decision(False, "participant:unreachable")
        case = session.get(Case, person.case_id)
        if purpose == "goodbye":
            if case is None or case.status != "closed":  # reopened (or erased) before it went
                return Decision(False, "case:not_closed")
        elif case is None or case.status != "open":
            return Decision(False, "case:ended")
        if purpose == "stop_confirmation":
            return Decision(True)
        agreed = state(session, person.id, channel)
        age = self._age(session, person, now.date()) if person.role == "child" else None
        needs_guardian = age is not None and age < SELF_CONSENT_AGE
        if needs_guardian and not agreed.guardian_agreed:
            return Decision(False, "consent:no_guardian_agreement")
        if purpose == "reply":
            # An answer to what the person just wrote (help, a safety reply, a re-ask). After
            # STOP the engine only answers HELP, START and words that suggest risk.
            return Decision(True)
        if agreed.withdrawn or person.status == "withdrawn":
            return Decision(False, "consent:withdrawn")
        if purpose == "consent":
            # Asking for the person's own yes is the one outreach allowed before it.
            return Decision(True)
        if not agreed.own_yes_counts(age):
            reason = "consent:not_given" if not agreed.self_agreed else \
                "consent:own_agreement_needed_at_15"
            return Decision(False, reason)
        return Decision(True)
