"""Messages as JSON for the inbox and outbox, and participants' channel addresses."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from typing import Any

from sqlmodel import Session

from bot.channels.base import Inbound, tel_address, telegram_address
from bot.flows.messages import Choice, OutgoingMessage
from storage.models import Participant
from storage.repo.cases import ParticipantView
from storage.vault import Vault

_INBOUND_FIELDS = tuple(f.name for f in fields(Inbound))


def message_to_dict(message: OutgoingMessage) -> dict[str, Any]:
    """The message as plain JSON-able data."""
    data = {"text": message.text, "layout": message.layout, "purpose": message.purpose,
            "choices": [[c.label, c.data] for c in message.choices], "meta": message.meta}
    if message.aside:
        data["aside"] = [[c.label, c.data] for c in message.aside]
    return data


def message_from_dict(data: dict[str, Any]) -> OutgoingMessage:
    """The message back from its JSON form."""
    return OutgoingMessage(
        text=str(data.get("text", "")),
        choices=tuple(Choice(str(label), str(value)) for label, value in data.get("choices", [])),
        layout=data.get("layout", "none"),
        aside=tuple(Choice(str(label), str(value)) for label, value in data.get("aside", [])),
        purpose=str(data.get("purpose", "survey")),
        meta={str(k): str(v) for k, v in data.get("meta", {}).items()},
    )


def address_of(person: ParticipantView) -> str | None:
    """Where a participant is reached on their channel; None when not linked yet."""
    if person.channel == "telegram":
        return telegram_address(person.chat_id) if person.chat_id else None
    if person.channel == "sms":
        return tel_address(person.phone) if person.phone else None
    return f"webchat:{person.id}"


def participant_address(session: Session, vault: Vault, person: Participant) -> str | None:
    """`address_of`, opening only the one sealed field the person's channel needs."""
    if person.channel == "telegram":
        chat_id = vault.open(session, person, "chat_id")
        return telegram_address(chat_id) if chat_id else None
    if person.channel == "sms":
        phone = vault.open(session, person, "phone")
        return tel_address(phone) if phone else None
    return f"webchat:{person.id}"


def inbound_to_dict(inbound: Inbound) -> dict[str, Any]:
    """An inbound message as JSON-able data for the inbox."""
    # Flat fields of plain values: no need for `asdict`'s deep copy (a webhook's hot path).
    data = {name: getattr(inbound, name) for name in _INBOUND_FIELDS}
    for key in ("received_at", "sent_at"):
        if data.get(key) is not None:
            data[key] = data[key].isoformat()
    return data


def inbound_from_dict(data: dict[str, Any]) -> Inbound:
    """The inbound message back from the inbox."""
    values = dict(data)
    for key in ("received_at", "sent_at"):
        if values.get(key):
            values[key] = datetime.fromisoformat(values[key])
    return Inbound(**{k: v for k, v in values.items() if k in _INBOUND_FIELDS})
