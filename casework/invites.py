"""Invites: a chat rater's link and code, how long each channel's lasts, and who gets one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from casework.errors import Invalid
from consent import links
from storage.models import Participant
from storage.repo import invites


@dataclass(frozen=True, slots=True)
class Invitation:
    """A new invite: the code (shown once), its link when there is one, what it replaced.

    `code` is None for an SMS rater: they are texted, and need no invite.
    """

    participant: Participant
    code: str | None
    url: str | None
    revoked: int = 0


def lifetime(channel: str) -> timedelta:
    """How long a new invite on this channel works (Telegram: 14 days once; web chat: a year)."""
    return invites.ttl_for(channel)


def may_invite(person: Participant) -> bool:
    """A chat rater who is taking part (or blocked the bot: a new chat may reach them)."""
    return links.may_invite(person)


def new_invite(session: Session, person: Participant, *, actor: str, public_url: str,
               bot_username: str | None, now: datetime) -> Invitation:
    """A fresh invite; the person's earlier unused invites and web-chat page stop working.

    Audited as `invite.create` (and `participant.unlink` for a web-chat page it replaced).
    """
    if not may_invite(person):
        raise Invalid("no_invite", participant=person.id, channel=person.channel,
                      status=person.status)
    issued = links.issue_invite(session, person, actor=actor, now=now, public_url=public_url,
                                bot_username=bot_username)
    return Invitation(person, issued.code, issued.url, issued.revoked)
