"""A participant's ways in: invites issued and revoked, Telegram chats linked and moved.

Every change is in the audit log, with nothing personal in it (no chat id, no code):

    invite.create       a new invite; `revoked=N` earlier unused ones stopped working
    participant.link    a Telegram chat linked by an invite
    participant.relink  a newer invite moved the person to another Telegram chat
    participant.unlink  a link ended: a web-chat page (newer invite, withdrawal), or unused
                        Telegram invites (withdrawal)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from consent import audit
from storage.blind_index import BlindIndex
from storage.models import Participant
from storage.repo import cases, invites
from storage.vault import Vault

CHAT_CHANNELS = ("telegram", "webchat")


@dataclass(frozen=True, slots=True)
class Issued:
    """A new invite: the code (shown once), its link when there is one, and what it replaced."""

    code: str
    url: str | None
    revoked: int


def may_invite(person: Participant) -> bool:
    """A chat rater who is taking part (or blocked the bot: a new chat may reach them)."""
    return person.channel in CHAT_CHANNELS and person.status in ("active", "unreachable")


def issue_invite(session: Session, person: Participant, *, actor: str, now: datetime,
                 public_url: str, bot_username: str | None) -> Issued:
    """A new invite for a chat participant; their earlier unused invites stop working.

    The command line, the dashboard and the API all issue invites through here.
    """
    code, revoked = invites.replace_invite(session, person, now=now)
    target = f"participant:{person.id}"
    audit.append(session, actor=actor, action="invite.create", target=target,
                 detail=f"channel={person.channel};revoked={revoked}", at=now)
    if revoked and person.channel == "webchat":
        audit.append(session, actor=actor, action="participant.unlink", target=target,
                     detail="webchat;by=new_invite", at=now)
    url = invites.invite_url(person.channel, code, public_url=public_url,
                             bot_username=bot_username)
    return Issued(code, url, revoked)


def end_links(session: Session, person: Participant, *, actor: str, at: datetime,
              reason: str) -> int:
    """End every live invite and web-chat link of the person (e.g. on withdrawal)."""
    revoked = invites.revoke_invites(session, person.id, now=at)
    if revoked:
        audit.append(session, actor=actor, action="participant.unlink",
                     target=f"participant:{person.id}",
                     detail=f"{person.channel};by={reason};invites={revoked}", at=at)
    return revoked


def link_telegram(session: Session, vault: Vault, index: BlindIndex, person: Participant,
                  chat_id: int | str, *, at: datetime) -> str | None:
    """Link the person's Telegram chat (an invite was redeemed from it), audited.

    Returns the chat the person was linked to before when it was another one (the caller
    says goodbye there); None for a first link or the same chat again.
    """
    new_blind = index.chat(chat_id)
    before = person.chat_index
    previous = vault.open(session, person, "chat_id") if before not in (None, new_blind) \
        else None
    cases.link_chat(session, vault, index, person, chat_id)
    target = f"participant:{person.id}"
    if previous is not None:
        audit.append(session, actor="participant", action="participant.relink", target=target,
                     detail="telegram;by=invite", at=at)
        return previous
    audit.append(session, actor="participant", action="participant.link", target=target,
                 detail="telegram;again" if before == new_blind else "telegram", at=at)
    return None
