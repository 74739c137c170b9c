"""Teams, provider organisations and deputies: created, found by name, and read for access."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from storage.models import Deputy, ProviderOrg, Team, User
from storage.repo.errors import Conflict

NAME_MAX = 120


def _name(name: str) -> str:
    name = " ".join(name.split())
    if not name or len(name) > NAME_MAX:
        raise ValueError(f"a name must be 1 to {NAME_MAX} characters")
    return name


def create_team(session: Session, *, name: str) -> Team:
    """A new team; its name is unique."""
    name = _name(name)
    if team_by_name(session, name) is not None:
        raise Conflict(f"a team named {name!r} exists already")
    team = Team(name=name)
    session.add(team)
    session.flush()
    return team


def create_provider(session: Session, *, name: str) -> ProviderOrg:
    """A new provider organisation; its name is unique."""
    name = _name(name)
    if provider_by_name(session, name) is not None:
        raise Conflict(f"a provider organisation named {name!r} exists already")
    org = ProviderOrg(name=name)
    session.add(org)
    session.flush()
    return org


def team_by_name(session: Session, name: str) -> Team | None:
    """The team with this name (spaces as typed do not matter), or None."""
    return session.exec(select(Team).where(Team.name == " ".join(name.split()))).first()


def provider_by_name(session: Session, name: str) -> ProviderOrg | None:
    """The provider organisation with this name, or None."""
    return session.exec(select(ProviderOrg).where(
        ProviderOrg.name == " ".join(name.split()))).first()


def teams(session: Session) -> list[Team]:
    """Every team, by name."""
    return list(session.exec(select(Team).order_by(col(Team.name))).all())


def providers(session: Session) -> list[ProviderOrg]:
    """Every provider organisation, by name."""
    return list(session.exec(select(ProviderOrg).order_by(col(ProviderOrg.name))).all())


def add_deputy(session: Session, *, user: User, deputy: User, starts_at: datetime,
               ends_at: datetime, created_by: str) -> Deputy:
    """`deputy` has `user`'s access from `starts_at` until `ends_at`."""
    if ends_at <= starts_at:
        raise ValueError("a deputy's period must end after it starts")
    row = Deputy(user_id=user.id, deputy_id=deputy.id, starts_at=starts_at, ends_at=ends_at,
                 created_by=created_by)
    session.add(row)
    session.flush()
    return row


def deputised(session: Session, deputy_id: str, *, now: datetime) -> list[str]:
    """The users `deputy_id` stands in for at `now` (their ids)."""
    return list(session.exec(select(Deputy.user_id).where(
        Deputy.deputy_id == deputy_id, col(Deputy.ends_at) > now,
        col(Deputy.starts_at) <= now)).all())


def deputy_emails(session: Session, user_id: str, *, now: datetime) -> list[str]:
    """The e-mails of the active users standing in for `user_id` at `now`."""
    rows = session.exec(select(User.email).join(Deputy, col(Deputy.deputy_id) == User.id)
                        .where(Deputy.user_id == user_id, col(Deputy.ends_at) > now,
                               col(Deputy.starts_at) <= now, col(User.active))
                        .order_by(col(User.email))).all()
    return list(dict.fromkeys(rows))


def team_members(session: Session, team_id: str) -> list[str]:
    """The ids of a team's users."""
    return list(session.exec(select(User.id).where(User.team_id == team_id)).all())
