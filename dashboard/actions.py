"""What a caseworker changes, shared by the pages and the API; every change is audited.

Inputs are checked here with errors that name a catalogue key (`Invalid.key`), so the pages
can show them in the reader's language and the API can return them as JSON.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from sqlmodel import Session

from consent import agreements, audit, links
from consent.withdrawal import withdraw
from reports.casefile import load_case_data
from reports.export import export_csv, export_json
from reports.graph import render_progress
from reports.journal import journal_pdf
from reports.rules import DEFAULT_RULES, ScoringRules
from scheduler.cadence import BadCadence, Cadence, load_cadences, parse_override
from scheduler.prompts import add_prompt
from scheduler.recurrence import BadRecurrence, expand, parse_every
from storage.blind_index import BlindIndex, InvalidPhoneNumber
from storage.models import Case, Meeting, Participant, User
from storage.passwords import WeakPassword
from storage.repo import cases, meetings
from storage.repo.errors import Conflict
from storage.repo.users import ROLES, create_user, user_by_email
from storage.vault import Vault

EXPORTS = {"pdf": "application/pdf", "csv": "text/csv; charset=utf-8", "png": "image/png",
           "svg": "image/svg+xml", "json": "application/json"}
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,}$")


class Invalid(ValueError):
    """A request the caller can correct; `key` names the message in the catalogue."""

    def __init__(self, key: str, field: str | None = None) -> None:
        super().__init__(key)
        self.key = key
        self.field = field


@lru_cache(maxsize=1)
def cadences() -> dict[str, Cadence]:
    """The shipped named cadences."""
    return load_cadences()


def create_case(session: Session, vault: Vault, actor: User, *, ref: str, child_name: str,
                birth_date: date, cadence: str, caseworker_email: str | None,
                now: datetime) -> Case:
    """A new case; a caseworker's own, or (admins only) another caseworker's."""
    ref, child_name = ref.strip(), child_name.strip()
    if not ref or len(ref) > 64:
        raise Invalid("error.ref", "ref")
    if not child_name or len(child_name) > 120:
        raise Invalid("error.child_name", "child_name")
    if birth_date > now.date() or birth_date < date(now.year - 25, 1, 1):
        raise Invalid("error.birth_date", "birth_date")
    if cadence not in cadences():
        raise Invalid("error.cadence", "cadence")
    owner = actor
    if caseworker_email and caseworker_email.strip().lower() != actor.email:
        other = user_by_email(session, caseworker_email) if actor.role == "admin" else None
        if other is None or not other.active:
            raise Invalid("error.caseworker", "caseworker_email")
        owner = other
    case = cases.create_case(session, vault, ref=ref, child_name=child_name,
                             birth_date=birth_date, caseworker_id=owner.id, cadence=cadence)
    audit.append(session, actor=actor.email, action="case.create", target=f"case:{case.id}",
                 at=now)
    return case


@dataclass(frozen=True, slots=True)
class Invitation:
    """A new invite: the code (shown once) and the link, when there is one."""

    participant: Participant
    code: str | None
    url: str | None


def new_invite(session: Session, person: Participant, *, actor: User, public_url: str,
               bot_username: str | None, now: datetime) -> Invitation:
    """A fresh invite (Telegram: single use, 14 days; web chat: the page itself, a year).

    The person's earlier unused invites and web-chat links stop working.
    """
    if not links.may_invite(person):
        raise Invalid("error.no_invite")
    issued = links.issue_invite(session, person, actor=actor.email, now=now,
                                public_url=public_url, bot_username=bot_username)
    return Invitation(person, issued.code, issued.url)


def add_participant(session: Session, vault: Vault, index: BlindIndex, actor: User, case: Case,
                    *, role: str, channel: str, name: str | None, phone: str | None,
                    language: str, guardian_consent: bool, public_url: str,
                    bot_username: str | None, now: datetime) -> Invitation:
    """A new rater, with an invite for chat channels and, optionally, a custody holder's yes."""
    if role not in cases.PARTICIPANT_ROLES:
        raise Invalid("error.role", "role")
    if channel not in cases.CHANNELS:
        raise Invalid("error.channel", "channel")
    if language not in cases.LANGUAGES:
        raise Invalid("error.language", "language")
    if channel == "sms" and not (phone or "").strip():
        raise Invalid("error.phone_needed", "phone")
    if case.status != "open":
        raise Invalid("error.case_closed")
    try:
        person = cases.add_participant(
            session, vault, index, case=case, role=role, channel=channel, language=language,
            name=(name or "").strip()[:120] or None, phone=(phone or "").strip() or None)
    except InvalidPhoneNumber:
        raise Invalid("error.phone", "phone") from None
    audit.append(session, actor=actor.email, action="participant.add",
                 target=f"participant:{person.id}", detail=f"role={role}", at=now)
    if guardian_consent:
        record_guardian(session, vault, person, actor=actor, now=now)
    if channel == "sms":
        return Invitation(person, None, None)
    return new_invite(session, person, actor=actor, public_url=public_url,
                      bot_username=bot_username, now=now)


def record_guardian(session: Session, vault: Vault, person: Participant, *, actor: User,
                    now: datetime) -> None:
    """Record that a custody holder agreed to contact with a child under 15 (told in person)."""
    born = vault.open(session, person, "birth_date")
    if person.role != "child" or not born:
        raise Invalid("error.guardian_child")
    age = agreements.age_on(date.fromisoformat(born), now.date())
    if age >= agreements.SELF_CONSENT_AGE:
        raise Invalid("error.guardian_age")
    agreements.record(session, person, action="given", given_by="guardian",
                      recorded_by=actor.email, at=now, age_at_time=age)
    audit.append(session, actor=actor.email, action="consent.guardian",
                 target=f"participant:{person.id}", at=now)


def withdraw_participant(session: Session, person: Participant, *, actor: User,
                         now: datetime) -> None:
    """Stop all contact with a participant, on their behalf, at once."""
    if person.status == "withdrawn":
        return
    withdraw(session, person, at=now, via="dashboard", recorded_by=actor.email)


def ask_now(session: Session, person: Participant, case: Case, *, actor: User,
            now: datetime) -> None:
    """Ask the participant for a rating now, outside the cadence (the next sweep starts it)."""
    if person.status != "active" or case.status != "open":
        raise Invalid("error.cannot_ask")
    add_prompt(session, participant=person, kind="adhoc", dedupe_key=f"adhoc:{uuid.uuid4().hex}",
               due_at=now)
    audit.append(session, actor=actor.email, action="survey.send",
                 target=f"participant:{person.id}", at=now)


def set_goals(session: Session, vault: Vault, case: Case, goals: list[str], *, actor: User,
              now: datetime) -> None:
    """Replace the case's goals (up to three, in the child's own words)."""
    goals = [g.strip() for g in goals if g.strip()]
    if len(goals) > cases.MAX_GOALS or any(len(g) > 200 for g in goals):
        raise Invalid("error.goals", "goals")
    try:
        cases.set_goals(session, vault, case, goals)
    except Conflict:
        raise Invalid("error.goals", "goals") from None
    audit.append(session, actor=actor.email, action="case.goals", target=f"case:{case.id}",
                 detail=f"count={len(goals)}", at=now)


def set_cadence(session: Session, case: Case, *, name: str, override: str | None, actor: User,
                now: datetime) -> None:
    """Change the follow-up cadence (a shipped name, or a per-case override)."""
    if name not in cadences():
        raise Invalid("error.cadence", "cadence")
    override = (override or "").strip() or None
    if override is not None:
        if len(override) > 200:
            raise Invalid("error.cadence_override", "cadence_override")
        try:
            override = parse_override(override).spec  # stored in its canonical form
        except BadCadence:
            raise Invalid("error.cadence_override", "cadence_override") from None
    case.cadence, case.cadence_override = name, override
    session.add(case)
    audit.append(session, actor=actor.email, action="case.cadence", target=f"case:{case.id}",
                 detail=f"{name}|{override or ''}", at=now)


def add_sessions(session: Session, case: Case, *, at: datetime, minutes: int,
                 every: str | None, until: date | None, zone: ZoneInfo, actor: User,
                 now: datetime) -> list[str]:
    """One session, or a series (`every` 1w/2w/... `until` a day); local times stay local."""
    if not 1 <= minutes <= 24 * 60:
        raise Invalid("error.minutes", "minutes")
    if at.tzinfo is None:
        at = at.replace(tzinfo=zone)
    if at < now - timedelta(days=1) or at > now + timedelta(days=3 * 365):
        raise Invalid("error.session_time", "at")
    if bool(every) != bool(until):
        raise Invalid("error.series", "every")
    try:
        starts = expand(at, parse_every(every), until, zone) if every and until else [at]
    except BadRecurrence:
        raise Invalid("error.series", "every") from None
    if not starts:
        raise Invalid("error.series", "until")
    rows = meetings.add_meetings(session, case_id=case.id, starts=starts, minutes=minutes)
    audit.append(session, actor=actor.email, action="session.add", target=f"case:{case.id}",
                 detail=f"count={len(rows)}", at=now)
    return [r.id for r in rows]


def cancel_session(session: Session, case: Case, meeting_id: str, *, series: bool,
                   actor: User, now: datetime) -> int:
    """Cancel a session of this case (or it and the rest of its series)."""
    meeting = session.get(Meeting, meeting_id) if len(meeting_id) <= 32 else None
    if meeting is None or meeting.case_id != case.id:
        raise LookupError("session")
    count = meetings.cancel_meetings(session, meeting_id, series=series, at=now)
    audit.append(session, actor=actor.email, action="session.cancel",
                 target=f"session:{meeting_id}", detail=f"count={count}", at=now)
    return count


def export(session: Session, vault: Vault, case: Case, fmt: str, *, actor: User, lang: str,
           now: datetime, via: str = "dashboard", rules: ScoringRules = DEFAULT_RULES) -> bytes:
    """A case's progression as pdf/csv/png/svg/json; audited before the bytes leave.

    The journal PDF and the JSON hold what participants wrote; CSV and the images do not.
    """
    if fmt not in EXPORTS:
        raise Invalid("error.format")
    data = load_case_data(session, vault, case.id, now=now, comments=fmt in ("pdf", "json"))
    if fmt == "pdf":
        body = journal_pdf(data, generated_by=actor.email, generated_at=now, lang=lang,
                           rules=rules)
    elif fmt == "csv":
        body = export_csv(data)
    elif fmt == "json":
        body = export_json(data, rules=rules)
    else:
        body = render_progress(data, "png" if fmt == "png" else "svg", lang=lang, rules=rules)
    audit.append(session, actor=actor.email, action=f"export.{fmt}", target=f"case:{case.id}",
                 detail=f"via={via}", at=now)
    return body


def add_user(session: Session, actor: User, *, email: str, role: str, password: str,
             now: datetime) -> User:
    """A new dashboard user (admins only)."""
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise Invalid("error.email", "email")
    if role not in ROLES:
        raise Invalid("error.user_role", "role")
    if user_by_email(session, email) is not None:
        raise Invalid("error.user_exists", "email")
    try:
        user = create_user(session, email=email, role=role, password=password)
    except WeakPassword:
        raise Invalid("error.password", "password") from None
    audit.append(session, actor=actor.email, action="user.add", target=f"user:{user.id}",
                 detail=f"role={role}", at=now)
    return user
