"""What a batch of inbound messages reads at once: senders, cases, running surveys, agreements.

One query each for the whole batch instead of one each per message. A sender's facts are
handed out once, to their first message in the batch: a later message from the same sender
may depend on what the first one changed (a finished survey, a STOP), so it reads afresh.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, or_
from sqlmodel import Session, col, select

from bot.channels.base import Inbound
from bot.conversation.host import Known
from bot.conversation.interpreter import Writes
from consent import agreements
from storage.blind_index import BlindIndex, InvalidPhoneNumber
from storage.models import Case, Conversation, Participant
from storage.vault import Vault

# Built once (a batch's lists go in as expanding parameters): building them per batch cost
# more than running them.
_PEOPLE = (select(Participant, Case).join(Case, col(Case.id) == Participant.case_id)
           .where(or_(col(Participant.phone_index).in_(bindparam("phones", expanding=True)),
                      col(Participant.chat_index).in_(bindparam("chats", expanding=True))))
           .order_by(col(Participant.created_at).desc()))
_ACTIVE = (select(Conversation)
           .where(col(Conversation.participant_id).in_(bindparam("ids", expanding=True)),
                  Conversation.status == "active")
           .order_by(col(Conversation.started_at).desc()))
# PostgreSQL locks the running surveys for the transaction, as `Surveys.active` does one.
_RUNNING = {False: _ACTIVE, True: _ACTIVE.with_for_update()}


class Prefetched:
    """The facts of one batch, read in the batch's transaction before anything is written."""

    def __init__(self, session: Session, vault: Vault, index: BlindIndex,
                 inbounds: Sequence[Inbound]) -> None:
        self._blind: dict[str, str] = {}  # address -> blind index
        phones, chats = set(), set()
        for inbound in inbounds:
            scheme, _, value = inbound.address.partition(":")
            try:
                if scheme == "tel":
                    self._blind[inbound.address] = index.phone(value)
                    phones.add(self._blind[inbound.address])
                elif scheme == "telegram":
                    self._blind[inbound.address] = index.chat(value)
                    chats.add(self._blind[inbound.address])
            except (InvalidPhoneNumber, ValueError):
                continue  # no one of ours: left to `InboundRouter.route`, which says so
        # Replies and survey steps, written together when the batch has been routed (steps
        # earlier, before a message that reads afresh); cases opened once.
        self.writes = Writes(session.get_bind().dialect)
        self._people: dict[str, list[Participant]] = {}
        self._known: dict[str, Known] = {}
        self._taken: set[str] = set()
        # ORM objects, so `session.get` finds these cases without a query; held here because
        # the session's identity map holds them only weakly.
        self._cases: list[Case] = []
        if not self._blind:
            return
        people: list[Participant] = []
        # Each sender with their case: one query for both.
        for person, case in session.exec(_PEOPLE, params={"phones": list(phones),
                                                          "chats": list(chats)}):
            people.append(person)  # newest first, as the one-message look-up returns them
            self._cases.append(case)
            blind = person.phone_index if person.phone_index in phones else person.chat_index
            self._people.setdefault(blind or "", []).append(person)
        if not people:
            return
        ids = [person.id for person in people]
        running = _RUNNING[session.get_bind().dialect.name == "postgresql"]
        conversations: dict[str, Conversation] = {}
        for conversation in session.exec(running, params={"ids": ids}):
            conversations.setdefault(conversation.participant_id, conversation)
        by_channel: dict[str, list[str]] = {}
        for person in people:
            by_channel.setdefault(person.channel, []).append(person.id)
        states: dict[str, agreements.AgreementState] = {}
        for channel, members in by_channel.items():
            states.update(agreements.states(session, members, channel))
        for person in people:
            self._known[person.id] = Known(conversations.get(person.id),
                                           states.get(person.id, agreements.NOTHING_AGREED))
        vault.prefetch(session, [("participant", p) for p in ids]
                       + [("case", case.id) for case in self._cases])

    def take(self, address: str) -> tuple[list[Participant], dict[str, Known]] | None:
        """The senders at `address` and what is known of them, on their first message only.

        None afterwards (or for an address not read here): the caller reads afresh.
        """
        blind = self._blind.get(address)
        if blind is None or address in self._taken:
            return None
        self._taken.add(address)
        people = self._people.get(blind, [])
        # Popped: a person reached at two addresses in one batch gets their facts once.
        known = {p.id: k for p in people if (k := self._known.pop(p.id, None)) is not None}
        return people, known
