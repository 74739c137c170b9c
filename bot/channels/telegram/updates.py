"""Turn a Telegram Bot API `Update` (parsed JSON) into Inbound records."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from bot.channels.base import Inbound, InboundKind, MalformedRequest, telegram_address

START_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@[A-Za-z0-9_]{1,64})?(?:\s+(.*))?$", re.DOTALL)


def _dict(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MalformedRequest(f"{what} is not an object")
    return value


def _int(value: Any, what: str) -> int:
    # bool is an int in Python, but never a valid id.
    if not isinstance(value, int) or isinstance(value, bool):
        raise MalformedRequest(f"{what} is not an integer")
    return value


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _date(value: Any) -> datetime | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return datetime.fromtimestamp(value, tz=UTC)
    return None


def _is_private(chat: dict[str, Any]) -> bool:
    # Answers in a group would be read by everyone in it; Stemme only talks one to one.
    return chat.get("type") == "private"


def parse_update(data: Any, *, received_at: datetime) -> list[Inbound]:
    """Inbound records of one Update; [] for update kinds Stemme does not act on."""
    update = _dict(data, "update")
    update_id = str(_int(update.get("update_id"), "update_id"))
    if "message" in update:
        return _message(update_id, _dict(update["message"], "message"), received_at)
    if "callback_query" in update:
        query = _dict(update["callback_query"], "callback_query")
        return _callback_query(update_id, query, received_at)
    if "my_chat_member" in update:
        member = _dict(update["my_chat_member"], "my_chat_member")
        return _chat_member(update_id, member, received_at)
    # edited_message, channel_post, inline_query, ...: nothing for us to do.
    return []


def _message(update_id: str, message: dict[str, Any], received_at: datetime) -> list[Inbound]:
    chat = _dict(message.get("chat"), "message.chat")
    chat_id = _int(chat.get("id"), "message.chat.id")
    if not _is_private(chat):
        return []
    sender = message.get("from")
    language = _str_or_none(sender.get("language_code")) if isinstance(sender, dict) else None
    text = message.get("text")
    base = Inbound(
        provider="telegram",
        provider_id=update_id,
        address=telegram_address(chat_id),
        kind="text",
        received_at=received_at,
        text=text if isinstance(text, str) else "",
        language=language,
        sent_at=_date(message.get("date")),
    )
    if not isinstance(text, str):
        caption = _str_or_none(message.get("caption")) or ""
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


def _callback_query(update_id: str, query: dict[str, Any], received_at: datetime) -> list[Inbound]:
    query_id = query.get("id")
    if not isinstance(query_id, str):
        raise MalformedRequest("callback_query.id is not a string")
    sender = _dict(query.get("from"), "callback_query.from")
    # In a private chat the chat id equals the user id; the message may be missing when it is
    # too old ("inaccessible"), so fall back to the sender.
    chat_id = _int(sender.get("id"), "callback_query.from.id")
    prompt_id: str | None = None
    message = query.get("message")
    if isinstance(message, dict):
        chat = _dict(message.get("chat"), "callback_query.message.chat")
        if "type" in chat and not _is_private(chat):
            return []
        chat_id = _int(chat.get("id"), "callback_query.message.chat.id")
        if isinstance(message.get("message_id"), int):
            prompt_id = str(message["message_id"])
    data = query.get("data")
    return [
        Inbound(
            provider="telegram",
            provider_id=update_id,
            address=telegram_address(chat_id),
            kind="button" if isinstance(data, str) else "unsupported",
            received_at=received_at,
            button_data=data if isinstance(data, str) else None,
            callback_query_id=query_id,
            prompt_message_id=prompt_id,
            language=_str_or_none(sender.get("language_code")),
        )
    ]


def _chat_member(update_id: str, member: dict[str, Any], received_at: datetime) -> list[Inbound]:
    chat = _dict(member.get("chat"), "my_chat_member.chat")
    chat_id = _int(chat.get("id"), "my_chat_member.chat.id")
    new = member.get("new_chat_member")
    status = new.get("status") if isinstance(new, dict) else None
    # "kicked": the person blocked the bot; "member": they unblocked it (or started it anew).
    kinds: dict[Any, InboundKind] = {"kicked": "blocked", "member": "unblocked"}
    if not _is_private(chat) or status not in kinds:
        return []
    return [
        Inbound(
            provider="telegram",
            provider_id=update_id,
            address=telegram_address(chat_id),
            kind=kinds[status],
            received_at=received_at,
            sent_at=_date(member.get("date")),
        )
    ]
