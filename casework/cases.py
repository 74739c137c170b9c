"""Cases: who may act on one, opening one, and its goals and follow-up cadence."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache

from sqlmodel import Session

from casework.errors import Invalid
from casework.organisation import find_provider, set_case_provider
from consent import audit
from scheduler.cadence import BadCadence, Cadence, load_cadences, parse_override
from storage.models import Case, User
from storage.repo import cases
from storage.repo.errors import Conflict, NotFound
from storage.repo.users import user_by_email
from storage.vault import Vault

REF_MAX = 64
CHILD_NAME_MAX = 120
GOAL_MAX = 200
OVERRIDE_MAX = 200
OLDEST_YEARS = 25  # a child-welfare case follows someone up to their twenties, not beyond


@lru_cache(maxsize=1)
def cadences() -> dict[str, Cadence]:
    """The shipped named cadences."""
    return load_cadences()


def may_act_on(user: User, case: Case) -> bool:
    """A caseworker acts on their own cases; an admin on all."""
    return user.role == "admin" or case.caseworker_id == user.id


def caseworker_for(session: Session, user: User, email: str | None) -> User:
    """Who owns a case `user` opens: themselves, or (admins only) another active caseworker.

    A provider user opens no cases: NotFound, as for anything outside their role."""
    if user.role == "provider":
        raise NotFound("case")
    if not email or email.strip().lower() == user.email:
        return user
    other = user_by_email(session, email) if user.role == "admin" else None
    if other is None or not other.active or other.role == "provider":
        raise Invalid("caseworker", "caseworker_email", email=email.strip())
    return other


def create_case(session: Session, vault: Vault, *, actor: str, caseworker: User, ref: str,
                child_name: str, birth_date: date, cadence: str, now: datetime,
                provider: str | None = None) -> Case:
    """A new open case owned by an active caseworker; audited as `case.create`. `provider`
    names the case's provider organisation (casework.organisation), if it has one."""
    ref, child_name = ref.strip(), child_name.strip()
    if not ref or len(ref) > REF_MAX:
        raise Invalid("ref", "ref")
    if not child_name or len(child_name) > CHILD_NAME_MAX:
        raise Invalid("child_name", "child_name")
    if birth_date > now.date() or birth_date < date(now.year - OLDEST_YEARS, 1, 1):
        raise Invalid("birth_date", "birth_date")
    if cadence not in cadences():
        raise Invalid("cadence", "cadence", names=", ".join(cadences()))
    if not caseworker.active or caseworker.role == "provider":
        raise Invalid("caseworker", "caseworker_email", email=caseworker.email)
    org = find_provider(session, provider)
    case = cases.create_case(session, vault, ref=ref, child_name=child_name,
                             birth_date=birth_date, caseworker_id=caseworker.id, cadence=cadence)
    audit.append(session, actor=actor, action="case.create", target=f"case:{case.id}", at=now)
    if org is not None:
        set_case_provider(session, case, actor=actor, provider=org.name, now=now)
    return case


def set_goals(session: Session, vault: Vault, case: Case, goals: list[str], *, actor: str,
              now: datetime) -> None:
    """Replace the case's goals (up to three, in the child's own words); audited."""
    goals = [g.strip() for g in goals if g.strip()]
    if len(goals) > cases.MAX_GOALS or any(len(g) > GOAL_MAX for g in goals):
        raise Invalid("goals", "goals")
    try:
        cases.set_goals(session, vault, case, goals)
    except Conflict:
        raise Invalid("goals", "goals") from None
    audit.append(session, actor=actor, action="case.goals", target=f"case:{case.id}",
                 detail=f"count={len(goals)}", at=now)


def set_cadence(session: Session, case: Case, *, name: str, override: str | None, actor: str,
                now: datetime) -> None:
    """Change the follow-up cadence (a shipped name, or a per-case override); audited."""
    if name not in cadences():
        raise Invalid("cadence", "cadence", names=", ".join(cadences()))
    override = (override or "").strip() or None
    if override is not None:
        if len(override) > OVERRIDE_MAX:
            raise Invalid("cadence_override", "cadence_override")
        try:
            override = parse_override(override).spec  # stored in its canonical form
        except BadCadence:
            raise Invalid("cadence_override", "cadence_override") from None
    case.cadence, case.cadence_override = name, override
    session.add(case)
    audit.append(session, actor=actor, action="case.cadence", target=f"case:{case.id}",
                 detail=f"{name}|{override or ''}", at=now)
