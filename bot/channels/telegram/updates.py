"""Turn a Telegram Bot API `Update` into Inbound records, parsed by python-telegram-bot.

`Update.de_json` builds the objects; it trusts the provider's types, so what Stemme relies on
(integer ids, a string callback id) is checked here, and anything PTB cannot build is a
malformed request (400, nothing stored), never a crash.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from telegram import CallbackQuery, Chat, ChatMemberUpdated, Message, Update

from bot.channels.base import Inbound, InboundKind, MalformedRequest, telegram_address

START_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@[A-Za-z0-9_]{1,64})?(?:\s+(.*))?$", re.DOTALL)
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8}){0,3}$")
_FIRST_DATE = datetime(2013, 1, 1, tzinfo=UTC)
_LAST_DATE = datetime(2200, 1, 1, tzinfo=UTC)
# What building an Update from odd JSON raises: a missing field, a wrong type, a date out of
# range, nesting too deep.
_BUILD_ERRORS = (KeyError, TypeError, ValueError, AttributeError, OverflowError, OSError,
                 RecursionError)


def _int(value: Any, what: str) -> int:
    # bool is an int in Python, but never a valid id; Telegram's ids fit in 64 bits.
    if not isinstance(value, int) or isinstance(value, bool) or abs(value) >= 2**63:
        raise MalformedRequest(f"{what} is not a 64-bit integer")
    return value


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _date(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    # Telegram's dates are Unix times of messages sent since it began; one outside these
    # years is no Update Telegram sent, and would overflow date arithmetic further on.
    if not _FIRST_DATE <= value < _LAST_DATE:
        raise MalformedRequest("date out of range")
    return value


def _language(value: Any) -> str | None:
    # An IETF language tag ("da", "en-GB"); anything else is ignored, not stored.
    return value if isinstance(value, str) and _LANGUAGE.match(value) else None


def _is_private(chat: Chat) -> bool:
    # Answers in a group would be read by everyone in it; Stemme only talks one to one.
    return chat.type == Chat.PRIVATE


def _build(data: Any) -> Update:
    if not isinstance(data, dict):
        raise MalformedRequest("update is not an object")
    _int(data.get("update_id"), "update_id")
    try:
        update = Update.de_json(data, None)
    except _BUILD_ERRORS as exc:
        raise MalformedRequest(f"not an Update ({exc.__class__.__name__})") from None
    if update is None:
        raise MalformedRequest("not an Update")
    return update


def parse_update(data: Any, *, received_at: datetime) -> list[Inbound]:
    """Inbound records of one Update; [] for update kinds Stemme does not act on."""
    update = _build(data)
    update_id = str(update.update_id)
    try:
        if update.message is not None:
            return _message(update_id, update.message, received_at)
        if update.callback_query is not None:
            return _callback_query(update_id, update.callback_query, received_at)
        if update.my_chat_member is not None:
            return _chat_member(update_id, update.my_chat_member, received_at)
    except _BUILD_ERRORS as exc:  # a field of an odd type PTB passed through
        raise MalformedRequest(f"odd Update ({exc.__class__.__name__})") from None
    # edited_message, channel_post, inline_query, ...: nothing for us to do.
    return []


def _message(update_id: str, message: Message, received_at: datetime) -> list[Inbound]:
    chat_id = _int(message.chat.id, "message.chat.id")
    if not _is_private(message.chat):
        return []
    sender = message.from_user
    text = message.text
    base = Inbound(
        provider="telegram",
        provider_id=update_id,
        address=telegram_address(chat_id),
        kind="text",
        received_at=received_at,
        text=text if isinstance(text, str) else "",
        language=_language(sender.language_code) if sender is not None else None,
        sent_at=_date(message.date),
    )
    if not isinstance(text, str):
        caption = _str_or_none(message.caption) or ""
        return [replace(base, kind="unsupported", text=caption)]
    match = _COMMAND.match(text.strip())
    if match is None:
        return [base]
    command = match[1].lower()
    if command == "start":
        payload = (match[2] or "").strip()
        token = payload if START_TOKEN.match(payload) else None
        return [replace(base, kind="command_start", command="start", start_token=token)]
    return [replace(base, kind="command", command=command)]


def _callback_query(update_id: str, query: CallbackQuery, received_at: datetime
                    ) -> list[Inbound]:
    if not isinstance(query.id, str):
        raise MalformedRequest("callback_query.id is not a string")
    # In a private chat the chat id equals the user id; the message may be missing when it is
    # too old ("inaccessible"), so fall back to the sender.
    chat_id = _int(query.from_user.id, "callback_query.from.id")
    prompt_id: str | None = None
    message = query.message
    if message is not None:
        if message.chat.type is not None and not _is_private(message.chat):
            return []
        chat_id = _int(message.chat.id, "callback_query.message.chat.id")
        if isinstance(message.message_id, int) and message.message_id > 0:
            prompt_id = str(message.message_id)
    data = query.data
    return [
        Inbound(
            provider="telegram",
            provider_id=update_id,
            address=telegram_address(chat_id),
            kind="button" if isinstance(data, str) else "unsupported",
            received_at=received_at,
            button_data=data if isinstance(data, str) else None,
            callback_query_id=query.id,
            prompt_message_id=prompt_id,
            language=_language(query.from_user.language_code),
        )
    ]


def _chat_member(update_id: str, member: ChatMemberUpdated, received_at: datetime
                 ) -> list[Inbound]:
    chat_id = _int(member.chat.id, "my_chat_member.chat.id")
    status = member.new_chat_member.status
    # "kicked": the person blocked the bot; "member": they unblocked it (or started it anew).
    kinds: dict[Any, InboundKind] = {"kicked": "blocked", "member": "unblocked"}
    if not _is_private(member.chat) or status not in kinds:
        return []
    return [
        Inbound(
            provider="telegram",
            provider_id=update_id,
            address=telegram_address(chat_id),
            kind=kinds[status],
            received_at=received_at,
            sent_at=_date(member.date),
        )
    ]
