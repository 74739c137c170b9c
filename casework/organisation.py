"""Setting up the organisation: teams, provider organisations, who is in which, a case's
provider, and deputies for an absent caseworker. Each change is audited."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from sqlmodel import Session

from casework.errors import Invalid
from consent import audit
from storage.models import Case, Deputy, ProviderOrg, Team, User
from storage.repo import cases, organisation, users
from storage.repo.errors import Conflict
from storage.repo.organisation import NAME_MAX, provider_by_name, team_by_name
from storage.repo.users import user_by_email

_Org = TypeVar("_Org", Team, ProviderOrg)
DEPUTY_DAYS_MAX = 366  # a deputy stands in for an absence, not for good
STAFF = ("caseworker", "leader", "admin")  # who may own, hand over and stand in for cases


def _created(create: Callable[..., _Org], session: Session, name: str) -> _Org:
    """`create(session, name=...)` with the repository's refusals as the caseworker's: the
    repository checks the name and that it is unique, once."""
    try:
        return create(session, name=name)
    except Conflict:
        raise Invalid("org_exists", "name", name=" ".join(name.split())) from None
    except ValueError:
        raise Invalid("org_name", "name", name=name, limit=NAME_MAX) from None


def add_team(session: Session, *, actor: str, name: str, now: datetime) -> Team:
    """A new team (unique name); audited."""
    team = _created(organisation.create_team, session, name)
    audit.append(session, actor=actor, action="team.add", target=f"team:{team.id}",
                 detail=f"name={team.name}", at=now)
    return team


def add_provider(session: Session, *, actor: str, name: str, now: datetime) -> ProviderOrg:
    """A new provider organisation (unique name); audited."""
    org = _created(organisation.create_provider, session, name)
    audit.append(session, actor=actor, action="provider.add", target=f"provider:{org.id}",
                 detail=f"name={org.name}", at=now)
    return org


def find_team(session: Session, name: str | None) -> Team | None:
    """The team named `name`; None for no name; Invalid("team") for an unknown one."""
    if not (name or "").strip():
        return None
    team = team_by_name(session, name or "")
    if team is None:
        raise Invalid("team", "team", name=(name or "").strip())
    return team


def find_provider(session: Session, name: str | None) -> ProviderOrg | None:
    """The provider organisation named `name`; None for no name; Invalid("provider") for
    an unknown one."""
    if not (name or "").strip():
        return None
    org = provider_by_name(session, name or "")
    if org is None:
        raise Invalid("provider", "provider", name=(name or "").strip())
    return org


def place_user(session: Session, user: User, *, actor: str, team: str | None,
               provider: str | None, now: datetime) -> None:
    """Put a user in a team (at most one) or, a provider user, in their organisation.

    A provider user needs an organisation and is in no team; staff have no organisation.
    """
    found_team, found_org = find_team(session, team), find_provider(session, provider)
    if user.role == "provider":
        if found_org is None:
            raise Invalid("provider_needed", "provider", email=user.email)
        if found_team is not None:
            raise Invalid("provider_team", "team", email=user.email)
    elif found_org is not None:
        raise Invalid("provider_role", "provider", email=user.email)
    users.set_organisation(session, user, team_id=found_team.id if found_team else None,
                           provider_id=found_org.id if found_org else None)
    audit.append(session, actor=actor, action="user.organisation", target=f"user:{user.id}",
                 detail=f"team={found_team.id if found_team else ''} "
                        f"provider={found_org.id if found_org else ''}", at=now)


def set_case_provider(session: Session, case: Case, *, actor: str, provider: str | None,
                      now: datetime) -> None:
    """The provider organisation whose users see the case's ratings, words and sessions
    (at most one; empty for none); audited."""
    org = find_provider(session, provider)
    if (org.id if org else None) == case.provider_id:
        return
    cases.set_provider(session, case, org.id if org else None)
    audit.append(session, actor=actor, action="case.provider", target=f"case:{case.id}",
                 detail=f"provider={org.id if org else ''}", at=now)


def _staff(session: Session, email: str, field: str) -> User:
    user = user_by_email(session, email) if email.strip() else None
    if user is None or not user.active or user.role not in STAFF:
        raise Invalid("deputy_user", field, email=email.strip())
    return user


def add_deputy(session: Session, *, actor: str, for_email: str, deputy_email: str,
               first_day: date, last_day: date, zone: ZoneInfo, now: datetime) -> Deputy:
    """`deputy_email` has `for_email`'s access, and their urgent alert mails too, from the
    start of `first_day` to the end of `last_day` (local days); audited."""
    absent = _staff(session, for_email, "for")
    deputy = _staff(session, deputy_email, "deputy")
    if absent.id == deputy.id:
        raise Invalid("deputy_same", "deputy", email=deputy.email)
    if last_day < first_day or (last_day - first_day).days >= DEPUTY_DAYS_MAX:
        raise Invalid("deputy_period", "to", limit=DEPUTY_DAYS_MAX)
    starts_at = datetime.combine(first_day, time(0), zone)
    ends_at = datetime.combine(last_day + timedelta(days=1), time(0), zone)
    row = organisation.add_deputy(session, user=absent, deputy=deputy, starts_at=starts_at,
                                  ends_at=ends_at, created_by=actor)
    audit.append(session, actor=actor, action="deputy.add", target=f"user:{absent.id}",
                 detail=f"deputy=user:{deputy.id} from={first_day} to={last_day}", at=now)
    return row
