"""Processes stored inbound messages: find the person, gate, run the engine, queue replies.

Each inbox row is processed in one transaction that starts by flipping the row from "new" to
"done". A crash rolls that back, so the row is found again at start-up; a second processor
(another process, or the recovery sweep) finds nothing left to flip and stops.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

import structlog
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.channels.base import Followup, Inbound, telegram_address
from bot.channels.wire import inbound_from_dict, message_to_dict
from bot.conversation.host import Surveys
from bot.conversation.interpreter import Outcome
from bot.flows import ButtonPress, Input, Text
from bot.flows.messages import OutgoingMessage
from bot.i18n import t
from bot.inbound.batch import Prefetched
from consent.links import link_telegram
from consent.withdrawal import mark_reachable, mark_unreachable
from storage.blind_index import BlindIndex, InvalidPhoneNumber
from storage.models import (
    Conversation,
    OutboxMessage,
    Participant,
    utcnow,
)
from storage.repo import cases, inbox, invites, outbox, outbox_queue
from storage.repo.throttle import hit
from storage.vault import Vault

log = structlog.get_logger("stemme.inbound")
MAX_ATTEMPTS = 5
WRONG_TOKENS_PER_DAY = 5


@dataclass
class Effects:
    """Work for after the commit: provider calls that are not messages, and wake-ups."""

    provider: str = ""
    followup: Followup | None = None  # the channel's calls after the input
    messages: int = 0
    safety_alert_ids: list[str] = field(default_factory=list)

    def add(self, outcome: Outcome) -> None:
        self.messages += outcome.messages
        self.safety_alert_ids.extend(outcome.safety_alert_ids)


class InboundRouter:
    """Turns one stored inbound message into engine input for the right participant."""

    def __init__(self, *, engine: Engine, vault: Vault, index: BlindIndex, surveys: Surveys,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.engine, self.vault, self.index, self.surveys = engine, vault, index, surveys
        self.clock = clock
        self._throttle_key = vault.ring.derive("throttle")

    # -- the unit of work ------------------------------------------------------------------
    def process(self, inbox_id: str) -> Effects | None:
        """Process one inbox row once; None when another worker already did."""
        try:
            with Session(self.engine, expire_on_commit=False) as session:
                [effects] = self._route_batch(session, [inbox_id], self.clock())
                session.commit()
                return effects
        except Exception as exc:
            log.exception("inbound processing failed", inbox_id=inbox_id)
            self._count_failure(inbox_id, exc)
            return None

    def process_many(self, inbox_ids: list[str]) -> list[Effects | None]:
        """Process rows in order in one transaction; `process` each alone if any fails.

        Messages that arrived together share the commit. A failure rolls the whole batch
        back, and then every row is processed on its own, so one bad message costs the
        others only time, and only it is counted as failed.
        """
        if len(inbox_ids) < 2:
            return [self.process(inbox_id) for inbox_id in inbox_ids]
        try:
            with Session(self.engine, expire_on_commit=False) as session:
                now = self.clock()
                results = self._route_batch(session, inbox_ids, now)
                session.commit()
                return results
        except Exception:
            log.warning("inbound batch failed; processing its rows one by one",
                        rows=len(inbox_ids))
            return [self.process(inbox_id) for inbox_id in inbox_ids]

    def _route_batch(self, session: Session, inbox_ids: list[str],
                     now: datetime) -> list[Effects | None]:
        inbounds = {row_id: inbound_from_dict(payload) for row_id, payload in
                    inbox.take(session, self.vault, inbox_ids, now=now).items()}
        facts = Prefetched(session, self.vault, self.index, list(inbounds.values()))
        results = [self.route(session, inbounds[row_id], key=f"in:{row_id}", now=now,
                              facts=facts) if row_id in inbounds else None
                   for row_id in inbox_ids]
        facts.writes.write(session.connection())
        return results

    def _count_failure(self, inbox_id: str, exc: Exception) -> None:
        with Session(self.engine) as session:
            inbox.count_failure(session, inbox_id, exc.__class__.__name__,
                                max_attempts=MAX_ATTEMPTS)
            session.commit()

    def pending_ids(self, limit: int = 500, received_before: datetime | None = None) -> list[str]:
        """Stored rows still to process (start-up recovery, and the periodic sweep)."""
        with Session(self.engine) as session:
            return inbox.pending_ids(session, limit=limit, received_before=received_before)

    # -- routing ---------------------------------------------------------------------------
    def route(self, session: Session, inbound: Inbound, *, key: str, now: datetime,
              facts: Prefetched) -> Effects:
        """Decide who this is and what the engine should hear (`facts`: a batch's reads)."""
        effects = Effects(provider=inbound.provider, followup=Followup(
            inbound.address, callback_query_id=inbound.callback_query_id)
            if inbound.callback_query_id else None)
        if inbound.kind == "status":
            return effects
        taken = facts.take(inbound.address)
        if taken is None or inbound.kind in ("blocked", "unblocked", "command_start") \
                or any(p.id not in taken[1] for p in taken[0]):
            # This message reads its senders' surveys afresh, or may start or end one another
            # way: the steps the batch has queued must be in the table first.
            facts.writes.steps.write(session.connection())
        try:
            people, known = taken if taken is not None else (
                self._people(session, inbound.address), {})
        except InvalidPhoneNumber:
            # A sender that is no phone number (a short code, a name): no one of ours, and
            # nothing a reply could reach. Stored and done, not retried as a failure.
            log.info("inbound from a sender that is not a phone number",
                     provider=inbound.provider)
            return effects
        if inbound.kind == "blocked":
            for blocked in people:
                mark_unreachable(session, blocked, at=now, reason="telegram:blocked")
            return effects
        # Unblocking the bot, or writing again, makes a person reachable again.
        how = "unblocked" if inbound.kind == "unblocked" else "wrote"
        for member in people:
            if member.status == "unreachable":
                mark_reachable(session, member, at=now, reason=f"{inbound.provider}:{how}")
        if inbound.kind == "unblocked":
            return effects
        if inbound.kind == "command_start" and inbound.start_token:
            linked = self._link(session, inbound, now, key)
            if linked is not None:
                self.surveys.start(session, linked, now, trigger="reply")
                effects.messages += 1
                return effects
            if not people:
                self._generic_reply(session, inbound, now, reason="token")
                return effects
        person = self._choose(session, people)
        if person is None:
            self._generic_reply(session, inbound, now, reason="unknown")
            return effects
        event = self._event(session, person, inbound)
        if inbound.kind == "button" and inbound.prompt_message_id:
            effects.followup = replace(effects.followup or Followup(inbound.address),
                                       prompt_message_id=inbound.prompt_message_id)
        effects.add(self.surveys.handle(session, person, event, now, key=key,
                                        known=known.get(person.id), writes=facts.writes))
        return effects

    def _people(self, session: Session, address: str) -> list[Participant]:
        scheme, _, value = address.partition(":")
        if scheme == "telegram":
            return cases.participants_by_chat(session, self.index, value)
        if scheme == "tel":
            return cases.participants_by_phone(session, self.index, value)
        if scheme == "webchat":
            person = session.get(Participant, value)
            return [person] if person else []
        return []

    def _choose(self, session: Session, people: list[Participant]) -> Participant | None:
        """A parent in two cases answers the survey that is running; else the newest case."""
        live = [p for p in people if p.status != "erased"]
        if len(live) == 1:
            return live[0]
        for person in live:
            if session.exec(select(Conversation.id).where(
                    Conversation.participant_id == person.id,
                    Conversation.status == "active")).first():
                return person
        return live[0] if live else None

    def _link(self, session: Session, inbound: Inbound, now: datetime,
              key: str) -> Participant | None:
        """Redeem a Telegram deep-link token; throttled per chat against guessing.

        Only a person's newest invite links (a new one revokes the earlier ones); one that
        moves the person from another chat says a neutral goodbye there.
        """
        chat_key = self._blind(inbound.address)
        day = now.date().isoformat()
        if hit(session, f"link:{chat_key}", day) > WRONG_TOKENS_PER_DAY:
            return None
        person = invites.redeem_invite(session, inbound.start_token or "", now=now)
        if person is None or person.channel != "telegram":
            return None
        previous = link_telegram(session, self.vault, self.index, person,
                                 inbound.address.split(":")[1], at=now)
        mark_reachable(session, person, at=now, reason="telegram:linked")
        if previous is not None and not any(
                other.status != "erased"
                for other in cases.participants_by_chat(session, self.index, previous)):
            # The old chat is linked to nobody now (a parent's chat in another case would
            # still be): it hears that, and nothing about the case.
            self._goodbye(session, person, previous, key)
        return person

    def _goodbye(self, session: Session, person: Participant, chat_id: str, key: str) -> None:
        """Tell the chat a person moved away from that it is no longer linked; nothing more."""
        message = OutgoingMessage(t("chat.unlinked", person.language), purpose="reply")
        outbox_queue.enqueue(session, self.vault, participant=None, channel="telegram",
                       message=message_to_dict(message), purpose="reply",
                       key=f"unlinked:{key}", address=telegram_address(chat_id))

    def _event(self, session: Session, person: Participant, inbound: Inbound) -> Input:
        if inbound.kind == "button" and inbound.button_data is not None:
            return ButtonPress(inbound.button_data,
                               self._state_of_prompt(session, person, inbound))
        if inbound.kind in ("command", "command_start") and inbound.command:
            # The whole text: words after a command ("/help min far slår mig") are read too.
            return Text(inbound.text or f"/{inbound.command}")
        return Text(inbound.text or "")

    def _state_of_prompt(self, session: Session, person: Participant,
                         inbound: Inbound) -> str | None:
        """The question a tapped keyboard belonged to, so an old keyboard cannot answer anew."""
        if not inbound.prompt_message_id:
            return None
        row = session.exec(select(OutboxMessage).where(
            OutboxMessage.provider_message_id == inbound.prompt_message_id,
            OutboxMessage.participant_id == person.id)).first()
        if row is None:
            return None
        payload = outbox.open_payload(session, self.vault, row)
        return str(payload.get("message", {}).get("meta", {}).get("state_id") or "") or None

    def _blind(self, address: str) -> str:
        return hmac.new(self._throttle_key, address.encode(), hashlib.sha256).hexdigest()[:40]

    def _generic_reply(self, session: Session, inbound: Inbound, now: datetime,
                       reason: str) -> None:
        """One generic reply per sender and day; it reveals nothing about any case."""
        if inbound.provider == "webchat":
            return
        blind = self._blind(inbound.address)
        language = "en" if (inbound.language or "").startswith("en") else "da"
        outbox_queue.enqueue(session, self.vault, participant=None, channel=inbound.provider,
                       # Short, generic, the same for everyone: it reveals nothing.
                       message=message_to_dict(OutgoingMessage(t("unknown_sender", language),
                                                               purpose="reply")),
                       purpose="reply", key=f"generic:{blind}:{now.date().isoformat()}",
                       address=inbound.address)
        log.info("inbound from unknown sender", provider=inbound.provider, reason=reason)

