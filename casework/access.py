"""Who may see a case, and how much: the one rule behind every page, API call and list.

    admin       every case
    caseworker  their own cases
    leader      their own and their team's cases (a case's team is its caseworker's)
    deputy      while standing in (`deputies`), the absent caseworker's cases, audited as such
    provider    the cases naming their provider organisation: ratings, words and sessions only

Anything else is not there: callers answer 404, as for a case that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, false, true
from sqlmodel import Session, col

from storage.models import Case, User
from storage.repo.organisation import deputised, team_members


@dataclass(frozen=True, slots=True)
class Access:
    """How much of a case a user may see: all of it (and act on it), or only its ratings,
    words and sessions; `deputy_for` names the absent caseworker when standing in is why."""

    full: bool
    deputy_for: str | None = None


FULL = Access(full=True)
RATINGS_ONLY = Access(full=False)


def case_access(session: Session, user: User, case: Case, *, now: datetime) -> Access | None:
    """What `user` may see of `case` at `now`; None when nothing (it looks absent)."""
    if not user.active:
        return None
    if user.role == "admin":
        return FULL
    if user.role == "provider":
        mine = user.provider_id is not None and case.provider_id == user.provider_id
        return RATINGS_ONLY if mine else None
    if case.caseworker_id == user.id:
        return FULL
    owner = session.get(User, case.caseworker_id)
    if owner is None:
        return None
    if user.role == "leader" and user.team_id is not None and owner.team_id == user.team_id:
        return FULL
    if owner.id in deputised(session, user.id, now=now):
        return Access(full=True, deputy_for=owner.email)
    return None


def visible_cases(session: Session, user: User, *, now: datetime) -> ColumnElement[bool]:
    """The condition on `Case` that holds for the cases `user` may see at `now` (the same
    rule as `case_access`, for lists)."""
    if not user.active:
        return false()
    if user.role == "admin":
        return true()
    if user.role == "provider":
        return col(Case.provider_id) == user.provider_id if user.provider_id else false()
    owners = {user.id, *deputised(session, user.id, now=now)}
    if user.role == "leader" and user.team_id is not None:
        owners.update(team_members(session, user.team_id))
    return col(Case.caseworker_id).in_(sorted(owners))


def may_act(session: Session, user: User, case: Case, *, now: datetime) -> bool:
    """Whether `user` may change `case` (everyone who sees all of it may)."""
    access = case_access(session, user, case, now=now)
    return access is not None and access.full
