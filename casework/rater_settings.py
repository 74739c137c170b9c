"""How a rater is asked: their contact window and whether they rate sessions or the cadence."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from casework.errors import Invalid
from casework.participants import contact_window
from consent import audit
from scheduler.planner import plan_person
from storage.models import DuePrompt, Participant

# The rating modes by name, as the command line, the dashboard's form and the API say them.
MODES = {"sessions": True, "cadence": False}
# Which planned prompts belong to which mode.
_KIND = {True: "session", False: "followup"}
_UNSET = object()


def rating_mode(text: str | None) -> bool | None:
    """`sessions` → True, `cadence` → False, nothing → None (the role's default)."""
    if not (text or "").strip():
        return None
    mode = MODES.get((text or "").strip())
    if mode is None:
        raise Invalid("rates", "rates_sessions")
    return mode


@dataclass(frozen=True)
class RaterSettings:
    """A rater's settings as they are now."""

    contact_window: str | None
    rates_sessions: bool


def set_rater_settings(session: Session, person: Participant, *, actor: str, now: datetime,
                       quiet_hours: str, window: str | None | object = _UNSET,
                       rates_sessions: bool | None = None) -> RaterSettings:
    """Change a rater's contact window (empty: none) and/or rating mode; audited.

    Only what is given changes. The window is checked against the quiet hours now, so the
    sweep never meets one it cannot honour; it applies to everything not yet sent. A new
    mode takes the person off the prompts planned for the old one and puts them on those
    planned for the other raters of the new one (later ones are planned as usual).
    """
    if person.status in ("withdrawn", "erased"):
        raise Invalid("cannot_ask", participant=person.id, status=person.status,
                      case_status="-")
    changed = []
    if window is not _UNSET:
        canonical = contact_window(window if isinstance(window, str) else None,
                                   quiet_hours=quiet_hours)
        if canonical != person.contact_window:
            person.contact_window = canonical
            changed.append("contact_window")
    if rates_sessions is not None and rates_sessions != person.rates_sessions:
        person.rates_sessions = rates_sessions
        _replan(session, person, now)
        changed.append("rates_sessions")
    if changed:
        session.add(person)
        mode = "sessions" if person.rates_sessions else "cadence"
        audit.append(session, actor=actor, action="participant.settings",
                     target=f"participant:{person.id}",
                     detail=f"changed={','.join(changed)};rates={mode}", at=now)
    return RaterSettings(person.contact_window, person.rates_sessions)


def _replan(session: Session, person: Participant, now: datetime) -> None:
    old = _KIND[not person.rates_sessions]
    for prompt in session.exec(select(DuePrompt).where(
            DuePrompt.participant_id == person.id, DuePrompt.kind == old,
            DuePrompt.status == "pending")).all():
        prompt.status = "cancelled"
        session.add(prompt)
    plan_person(session, person, now)  # joins what is planned in the new mode
