"""A fake Telegram Bot API over real HTTP, answering with payloads shaped like the real one."""

from __future__ import annotations

import copy
import json
import time
from typing import Any

import aiohttp
from aiohttp import web

from tests.fakes.server import FakeServer, Fault, Recorded, max_in_window
from tests.fakes.webhooks import load_fixture


def _ok(result: Any, description: str | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": True, "result": result}
    if description:
        body["description"] = description
    return web.json_response(body)


def _error(status: int, description: str, **parameters: int) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=status)


def _decode(value: str) -> Any:
    # Form-encoded Bot API calls carry objects (reply_markup) as JSON strings.
    if value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


class FakeTelegramAPI(FakeServer):
    """Implements getMe, sendMessage, answerCallbackQuery, editMessageReplyMarkup,
    setWebhook, deleteWebhook and getUpdates for one bot token.

    `enforce_limits=True` answers 429 like the real API when a chat gets more than three
    messages in three seconds or the bot more than 30 a second; otherwise rates are only recorded.
    """

    def __init__(self, token: str, *, enforce_limits: bool = False) -> None:
        super().__init__()
        self.token = token
        self.enforce_limits = enforce_limits
        self.webhook_url: str | None = None
        self.webhook_secret: str | None = None
        self.updates: list[dict[str, Any]] = []
        self._next_message_id = 100
        self._accepted: list[tuple[float, str]] = []  # (time, chat) of delivered messages

    def _add_routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/bot{token}/{method}", self._handle)

    def inject(
        self,
        fault: Fault,
        *,
        times: int | None = 1,
        target: str | int | None = None,
        name: str | None = "sendMessage",
    ) -> None:
        """Like FakeServer.inject, defaulting to sendMessage; name=None hits every method."""
        if fault.kind == "opted_out":
            raise ValueError("opted_out is a Twilio fault")
        super().inject(fault, times=times, target=target, name=name)

    def queue_update(self, update: dict[str, Any]) -> None:
        """Make getUpdates return this update (until an offset confirms it)."""
        self.updates.append(update)

    def sent_messages(self, chat_id: str | int | None = None) -> list[Recorded]:
        """Successful sendMessage calls, optionally to one chat."""
        return [r for r in self.calls("sendMessage", target=chat_id) if r.status == 200]

    async def deliver_update(self, update: dict[str, Any], url: str | None = None) -> int:
        """POST an update to the webhook set with setWebhook, like Telegram; returns the status."""
        target = url or self.webhook_url
        if target is None:
            raise RuntimeError("no webhook set")
        headers = {"Content-Type": "application/json"}
        if self.webhook_secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook_secret
        async with (
            aiohttp.ClientSession() as session,
            session.post(target, data=json.dumps(update), headers=headers) as response,
        ):
            return response.status

    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            body = await request.json()
            if isinstance(body, dict):
                params.update(body)
        elif request.can_read_body:
            form = await request.post()
            params.update({k: _decode(v) for k, v in form.items() if isinstance(v, str)})
        return params

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        chat = params.get("chat_id")
        entry = self._record(request, method, params, None if chat is None else str(chat))
        response = await self._answer(request, method, params, entry)
        entry.status = response.status
        return response

    async def _answer(
        self, request: web.Request, method: str, params: dict[str, Any], entry: Recorded
    ) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(load_fixture("telegram", "error_401.json"), status=401)
        fault = self._take_fault(method, entry.target)
        if fault is None and self.enforce_limits and method == "sendMessage":
            fault = self._over_limit(entry.target)
        if fault is not None:
            entry.fault = fault.kind
            return await self._fault(fault)
        handler = {
            "getMe": self._get_me,
            "sendMessage": self._send_message,
            "answerCallbackQuery": self._answer_callback_query,
            "editMessageReplyMarkup": self._edit_reply_markup,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getUpdates": self._get_updates,
        }.get(method)
        if handler is None:
            return _error(404, "Not Found")
        return handler(params)

    def _over_limit(self, chat: str | None) -> Fault | None:
        now = time.monotonic()
        recent = [t for t, c in self._accepted if now - t < 1.0]
        # One chat: a short burst, then about one a second (more than 3 in 3 s is refused).
        if chat is not None and max_in_window(
                [t for t, c in self._accepted if c == chat and now - t < 3.0] + [now], 3.0) > 3:
            return Fault.rate_limited(retry_after=1)
        if max_in_window(recent + [now]) > 30:
            return Fault.rate_limited(retry_after=1)
        return None

    async def _fault(self, fault: Fault) -> web.Response:
        if fault.kind == "hang":
            await self._hang(fault)
            return _error(500, "Internal Server Error")
        if fault.kind == "rate_limited":
            return _error(
                429,
                f"Too Many Requests: retry after {fault.retry_after}",
                retry_after=fault.retry_after,
            )
        if fault.kind == "blocked":
            return web.json_response(
                load_fixture("telegram", "error_403_blocked.json"), status=403
            )
        if fault.kind == "bad_request":
            return _error(400, f"Bad Request: {fault.description or 'chat not found'}")
        return web.json_response(load_fixture("telegram", "error_500.json"), status=500)

    def _get_me(self, params: dict[str, Any]) -> web.Response:
        return web.json_response(load_fixture("telegram", "get_me.json"))

    def _message(self, chat_id: Any, message_id: int, text: str | None) -> dict[str, Any]:
        message: dict[str, Any] = copy.deepcopy(load_fixture("telegram", "send_message.json"))
        result: dict[str, Any] = message["result"]
        result["message_id"] = message_id
        result["chat"]["id"] = int(chat_id) if str(chat_id).lstrip("-").isdigit() else chat_id
        result["date"] = int(time.time())
        if text is None:
            del result["text"]
        else:
            result["text"] = text
        return result

    def _send_message(self, params: dict[str, Any]) -> web.Response:
        chat_id, text = params.get("chat_id"), params.get("text")
        if chat_id in (None, ""):
            return _error(400, "Bad Request: chat_id is empty")
        if not isinstance(text, str) or not text.strip():
            return _error(400, "Bad Request: message text is empty")
        if len(text.encode("utf-16-le")) // 2 > 4096:
            return _error(400, "Bad Request: message is too long")
        markup = params.get("reply_markup")
        if isinstance(markup, dict):
            for row in markup.get("inline_keyboard", []):
                for button in row:
                    if len(str(button.get("callback_data", "")).encode()) > 64:
                        return _error(400, "Bad Request: BUTTON_DATA_INVALID")
        self._next_message_id += 1
        result = self._message(chat_id, self._next_message_id, text)
        if isinstance(markup, dict) and markup.get("inline_keyboard"):
            result["reply_markup"] = markup
        self._accepted.append((time.monotonic(), str(chat_id)))
        return _ok(result)

    def _answer_callback_query(self, params: dict[str, Any]) -> web.Response:
        if not params.get("callback_query_id"):
            return _error(400, "Bad Request: query is too old and response timeout expired")
        return _ok(True)

    def _edit_reply_markup(self, params: dict[str, Any]) -> web.Response:
        chat_id, message_id = params.get("chat_id"), params.get("message_id")
        if chat_id in (None, "") or not str(message_id or "").isdigit():
            return _error(400, "Bad Request: message to edit not found")
        return _ok(self._message(chat_id, int(str(message_id)), "…"))

    def _set_webhook(self, params: dict[str, Any]) -> web.Response:
        self.webhook_url = params.get("url") or None
        self.webhook_secret = params.get("secret_token") or None
        return _ok(True, "Webhook was set")

    def _delete_webhook(self, params: dict[str, Any]) -> web.Response:
        self.webhook_url = self.webhook_secret = None
        return _ok(True, "Webhook was deleted")

    def _get_updates(self, params: dict[str, Any]) -> web.Response:
        offset = int(str(params.get("offset") or 0))
        # Like Telegram, an offset confirms (and forgets) every update before it.
        self.updates = [u for u in self.updates if int(u["update_id"]) >= offset]
        return _ok(list(self.updates))
