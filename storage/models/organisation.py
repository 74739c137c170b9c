"""How the municipality is organised: teams, provider organisations and deputies (0007).

A user is in at most one team (`users.team_id`); a case's team is its caseworker's, so it
moves with a hand-over and is never stored on the case. A provider organisation's users
(role `provider`) see the ratings, words and sessions of the cases that name it
(`cases.provider_id`). A deputy has an absent caseworker's access from `starts_at` until
`ends_at` (the local days given, as UTC instants).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from storage.models.base import fk, id_field, ts


class Team(SQLModel, table=True):
    """A team of caseworkers, with its leaders (staff data, not encrypted)."""

    __tablename__ = "teams"

    id: str = id_field()
    name: str = Field(max_length=120, unique=True, index=True)
    created_at: datetime = ts(now=True)


class ProviderOrg(SQLModel, table=True):
    """An organisation that delivers a measure (a family-therapy provider, a school)."""

    __tablename__ = "provider_orgs"

    id: str = id_field()
    name: str = Field(max_length=120, unique=True, index=True)
    created_at: datetime = ts(now=True)


class Deputy(SQLModel, table=True):
    """While `user_id` is away (from `starts_at` until `ends_at`), `deputy_id` has their
    access to cases and gets their urgent alert mails too."""

    __tablename__ = "deputies"
    __table_args__ = (Index("ix_deputies_deputy_period", "deputy_id", "ends_at"),
                      Index("ix_deputies_user_period", "user_id", "ends_at"))

    id: str = id_field()
    user_id: str = fk("users.id", index=False)  # the absent caseworker
    deputy_id: str = fk("users.id", index=False)
    starts_at: datetime = ts()
    ends_at: datetime = ts()
    created_by: str = Field(max_length=254)  # who set it up (an e-mail or cli:<os user>)
    created_at: datetime = ts(now=True)
