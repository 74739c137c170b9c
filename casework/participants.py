"""Raters: adding one (with their invite), a custody holder's yes, and withdrawing them."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session

from casework.errors import Invalid
from casework.invites import Invitation, new_invite
from consent import agreements, audit
from consent.withdrawal import withdraw
from scheduler.planner import plan_person
from scheduler.windows import BadWindow, ensure_compatible, parse_quiet_hours, parse_window
from storage.blind_index import BlindIndex, InvalidPhoneNumber
from storage.models import Case, Participant
from storage.repo import cases
from storage.vault import Vault

NAME_MAX = 120


def contact_window(text: str | None, *, quiet_hours: str) -> str | None:
    """A contact window in its canonical form, checked now so the sweep never meets a bad one."""
    if not (text or "").strip():
        return None
    try:
        window = parse_window(text or "")
        ensure_compatible(parse_quiet_hours(quiet_hours), window)
    except BadWindow as exc:
        raise Invalid("window", "window", reason=str(exc)) from None
    return str(window)


def add_participant(session: Session, vault: Vault, index: BlindIndex, case: Case, *,
                    actor: str, role: str, channel: str, name: str | None, phone: str | None,
                    language: str, guardian_consent: bool, public_url: str,
                    bot_username: str | None, now: datetime,
                    rates_sessions: bool | None = None,
                    window: str | None = None) -> Invitation:
    """A new rater of an open case, audited; chat raters get their invite at once.

    `guardian_consent` records a custody holder's yes for a child under 15 (told in person);
    `window` is a canonical contact window (`contact_window`).
    """
    if role not in cases.PARTICIPANT_ROLES:
        raise Invalid("role", "role")
    if channel not in cases.CHANNELS:
        raise Invalid("channel", "channel")
    if language not in cases.LANGUAGES:
        raise Invalid("language", "language")
    if channel == "sms" and not (phone or "").strip():
        raise Invalid("phone_needed", "phone")
    if case.status != "open":
        raise Invalid("case_closed", case=case.id, status=case.status)
    try:
        person = cases.add_participant(
            session, vault, index, case=case, role=role, channel=channel, language=language,
            name=(name or "").strip()[:NAME_MAX] or None, phone=(phone or "").strip() or None,
            rates_sessions=rates_sessions, contact_window=window)
    except InvalidPhoneNumber as exc:
        raise Invalid("phone", "phone", reason=str(exc)) from None
    audit.append(session, actor=actor, action="participant.add",
                 target=f"participant:{person.id}", detail=f"role={role}", at=now)
    plan_person(session, person, now)  # sessions planned before they joined are theirs too
    if guardian_consent:
        record_guardian(session, vault, person, actor=actor, now=now)
    if channel == "sms":
        return Invitation(person, None, None)
    return new_invite(session, person, actor=actor, public_url=public_url,
                      bot_username=bot_username, now=now)


def record_guardian(session: Session, vault: Vault, person: Participant, *, actor: str,
                    now: datetime) -> None:
    """Record that a custody holder agreed to contact with a child under 15; audited."""
    born = vault.open(session, person, "birth_date")
    if person.role != "child" or not born:
        raise Invalid("guardian_child", role=person.role)
    age = agreements.age_on(date.fromisoformat(born), now.date())
    if age >= agreements.SELF_CONSENT_AGE:
        raise Invalid("guardian_age", age=age)
    agreements.record(session, person, action="given", given_by="guardian",
                      recorded_by=actor, at=now, age_at_time=age)
    audit.append(session, actor=actor, action="consent.guardian",
                 target=f"participant:{person.id}", at=now)


def withdraw_participant(session: Session, person: Participant, *, actor: str, via: str,
                         now: datetime) -> None:
    """Stop all contact with a participant, on their behalf, at once (again: nothing new)."""
    if person.status in ("withdrawn", "erased"):
        return
    withdraw(session, person, at=now, via=via, recorded_by=actor)
