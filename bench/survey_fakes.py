"""The load bench's lean fake Bot API and its simulated children (Telegram and web chat).

Both live in the bench's own process, so a sendMessage that reaches the fake is handed to
the waiting child at once (no polling), while the server under test runs in another process.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import random
import re
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
BOT_ID = 7000000001
BOT_USERNAME = "bench_bot"
_BOT_USER = {"id": BOT_ID, "is_bot": True, "first_name": "Bench", "username": BOT_USERNAME}
# What the fake allows in limit mode (the Bot API's documented limits, as a fake can have them)
OVERALL_PER_SECOND = 30
CHAT_BURST = 3  # messages to one chat within CHAT_BURST_SECONDS ...
CHAT_BURST_SECONDS = 3.0
CHAT_SUSTAINED = 20  # ... and within CHAT_SUSTAINED_SECONDS: about one a second
CHAT_SUSTAINED_SECONDS = 20.0


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0-100) by nearest rank; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Delivered:
    """A message the bot sent to a chat, as the fake received it."""

    message_id: int
    text: str
    buttons: tuple[str, ...]  # callback_data of the inline keyboard, row by row
    at: float  # perf_counter when the fake received the call


def _decode(value: str) -> Any:
    # Form-encoded Bot API calls carry objects (reply_markup) as JSON strings.
    if value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


class FakeBotAPI:
    """getMe, sendMessage, answerCallbackQuery, editMessageReplyMarkup/Text, setWebhook and
    friends for one token, answering at once; in limit mode sendMessage gets 429 with
    retry_after past 30/s overall or past a short burst in one chat."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.limits = False
        self.chats: dict[int, Callable[[Delivered], None]] = {}  # chat id -> the child's inbox
        self.calls: Counter[str] = Counter()
        self.rejected = 0  # 429s answered
        self.other_messages = 0  # sendMessage to chats no child listens to
        self.other_last_at = 0.0  # perf_counter of the latest of those
        self.webhook_set = asyncio.Event()
        self.webhook: dict[str, Any] = {}
        self._ids = itertools.count(1000)
        self._overall: deque[float] = deque()
        self._per_chat: dict[int, deque[float]] = {}
        self._runner: web.AppRunner | None = None
        self.url = ""

    def reset(self, *, limits: bool = False) -> None:
        """Forget counters and listeners between scenarios."""
        self.limits = limits
        self.chats.clear()
        self.calls.clear()
        self.rejected = self.other_messages = 0
        self.other_last_at = 0.0
        self.webhook_set = asyncio.Event()
        self.webhook = {}
        self._overall.clear()
        self._per_chat.clear()

    async def start(self) -> str:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, backlog=4096)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

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
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401,
                                      "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        params = await self._params(request)
        self.calls[method] += 1
        if method == "sendMessage":
            return self._send_message(params)
        if method in ("editMessageReplyMarkup", "editMessageText"):
            return self._ok(self._message(params.get("chat_id"),
                                          int(str(params.get("message_id") or 0)),
                                          str(params.get("text") or "…")))
        if method == "getMe":
            return self._ok({**_BOT_USER, "can_join_groups": False,
                             "can_read_all_group_messages": False,
                             "supports_inline_queries": False})
        if method == "setWebhook":
            self.webhook = {"url": params.get("url"), "secret": params.get("secret_token")}
            self.webhook_set.set()
            return self._ok(True, "Webhook was set")
        if method == "getWebhookInfo":
            return self._ok({"url": self.webhook.get("url") or "",
                             "has_custom_certificate": False, "pending_update_count": 0})
        # answerCallbackQuery, deleteWebhook, close, ...: done.
        return self._ok(True)

    @staticmethod
    def _ok(result: Any, description: str | None = None) -> web.Response:
        body: dict[str, Any] = {"ok": True, "result": result}
        if description:
            body["description"] = description
        return web.json_response(body)

    @staticmethod
    def _message(chat_id: Any, message_id: int, text: str) -> dict[str, Any]:
        chat = int(chat_id) if str(chat_id).lstrip("-").isdigit() else chat_id
        return {"message_id": message_id, "from": _BOT_USER,
                "chat": {"id": chat, "first_name": "Barn", "type": "private"},
                "date": int(time.time()), "text": text}

    def _too_many(self, chat: int, now: float) -> int | None:
        """Seconds to wait when this message would pass a limit; None when it may go."""
        overall = self._overall
        while overall and now - overall[0] >= 1.0:
            overall.popleft()
        if len(overall) >= OVERALL_PER_SECOND:
            return max(1, math.ceil(1.0 - (now - overall[0])))
        recent = self._per_chat.setdefault(chat, deque())
        while recent and now - recent[0] >= CHAT_SUSTAINED_SECONDS:
            recent.popleft()
        in_burst = [t for t in recent if now - t < CHAT_BURST_SECONDS]
        if len(in_burst) >= CHAT_BURST:
            return max(1, math.ceil(CHAT_BURST_SECONDS - (now - in_burst[0])))
        if len(recent) >= CHAT_SUSTAINED:
            return max(1, math.ceil(CHAT_SUSTAINED_SECONDS - (now - recent[0])))
        return None

    def _send_message(self, params: dict[str, Any]) -> web.Response:
        at = time.perf_counter()
        text = params.get("text")
        try:
            chat = int(str(params.get("chat_id")))
        except ValueError:
            return web.json_response({"ok": False, "error_code": 400,
                                      "description": "Bad Request: chat not found"}, status=400)
        if not isinstance(text, str) or not text.strip():
            return web.json_response({"ok": False, "error_code": 400, "description":
                                      "Bad Request: message text is empty"}, status=400)
        if self.limits:
            wait = self._too_many(chat, time.monotonic())
            if wait is not None:
                self.rejected += 1
                return web.json_response(
                    {"ok": False, "error_code": 429,
                     "description": f"Too Many Requests: retry after {wait}",
                     "parameters": {"retry_after": wait}}, status=429)
            now = time.monotonic()
            self._overall.append(now)
            self._per_chat.setdefault(chat, deque()).append(now)
        message_id = next(self._ids)
        result = self._message(chat, message_id, text)
        markup = params.get("reply_markup")
        buttons: tuple[str, ...] = ()
        if isinstance(markup, dict) and markup.get("inline_keyboard"):
            result["reply_markup"] = markup
            buttons = tuple(str(b.get("callback_data", "")) for row in markup["inline_keyboard"]
                            for b in row)
        listener = self.chats.get(chat)
        if listener is None:
            self.other_messages += 1
            self.other_last_at = at
        else:
            listener(Delivered(message_id, text, buttons, at))
        return self._ok(result)


def choose(buttons: tuple[str, ...], rng: random.Random) -> str:
    """What a child taps: a scale value, "yes", or skipping the free-text question; never the
    help button."""
    values = [b for b in buttons if b.startswith("v:")]
    if values:
        return rng.choice(values)
    for wanted in ("yes", "skip"):
        if wanted in buttons:
            return wanted
    answers = [b for b in buttons if b != "unsafe"]
    return answers[0] if answers else buttons[0]


def is_last_question(buttons: tuple[str, ...]) -> bool:
    """The free-text question after the last item: skip (and help), no scale, no yes/no."""
    return "skip" in buttons and not any(b.startswith("v:") or b == "yes" for b in buttons)


@dataclass
class ChildResult:
    """What one child saw."""

    posted: int = 0
    completed: bool = False
    scale_answers: int = 0
    latencies: list[float] = field(default_factory=list)
    tagged: list[float] = field(default_factory=list)  # latencies after `mark` was set
    first_post: float | None = None
    last_reply: float | None = None
    error: str | None = None
    webhook_errors: int = 0
    stale_pages: int = 0  # web chat: the page after a tap did not show the reply yet


_update_ids = itertools.count(1)


def start_update(chat_id: int, token: str) -> dict[str, Any]:
    """A private chat's /start <token> (what the deep link t.me/<bot>?start=<token> sends)."""
    user = {"id": chat_id, "is_bot": False, "first_name": "Barn", "language_code": "da"}
    return {"update_id": next(_update_ids), "message": {
        "message_id": 1, "from": user,
        "chat": {"id": chat_id, "first_name": "Barn", "type": "private"},
        "date": int(time.time()), "text": f"/start {token}",
        "entities": [{"offset": 0, "length": 6, "type": "bot_command"}]}}


def press_update(chat_id: int, prompt: Delivered, data: str) -> dict[str, Any]:
    """Tapping a button under the bot's message `prompt`."""
    user = {"id": chat_id, "is_bot": False, "first_name": "Barn", "language_code": "da"}
    update_id = next(_update_ids)
    return {"update_id": update_id, "callback_query": {
        "id": f"{chat_id}-{update_id}", "from": user,
        "message": {"message_id": prompt.message_id, "from": _BOT_USER,
                    "chat": {"id": chat_id, "first_name": "Barn", "type": "private"},
                    "date": int(time.time()), "text": prompt.text},
        "chat_instance": str(-chat_id), "data": data}}


class TelegramChild:
    """Deep-links in with /start, then taps through the survey, each tap after the question.

    It waits for the next message with a keyboard (messages without one, like the greeting,
    are only read); after tapping "skip" on the free-text question that follows the last
    item, the next message is the closing one, and the survey is done.
    """

    def __init__(self, chat_id: int, token: str, rng: random.Random) -> None:
        self.chat_id, self.token, self.rng = chat_id, token, rng
        self.inbox: asyncio.Queue[Delivered] = asyncio.Queue()
        self.result = ChildResult()
        self.mark: asyncio.Event | None = None  # set: latencies are also kept in `tagged`

    def deliver(self, message: Delivered) -> None:
        self.inbox.put_nowait(message)

    async def _post(self, http: aiohttp.ClientSession, url: str, secret: str,
                    update: dict[str, Any]) -> float:
        """POST the update like Telegram does (retrying a failed delivery); when it left."""
        body = json.dumps(update).encode()
        headers = {"Content-Type": "application/json", SECRET_HEADER: secret}
        sent = time.perf_counter()
        if self.result.first_post is None:
            self.result.first_post = sent
        self.result.posted += 1
        for attempt in range(6):
            try:
                async with http.post(url, data=body, headers=headers) as response:
                    await response.read()
                    if response.status < 500:
                        return sent
            except (aiohttp.ClientError, OSError):
                pass
            self.result.webhook_errors += 1
            await asyncio.sleep(0.2 * 2 ** attempt)
        raise RuntimeError("webhook kept failing")

    async def run(self, http: aiohttp.ClientSession, url: str, secret: str, timeout: float,
                  pause: Callable[[ChildResult], asyncio.Event | None] | None = None) -> None:
        """The whole survey; `pause` may return an event to wait for before the next tap."""
        result = self.result
        try:
            sent = await self._post(http, url, secret, start_update(self.chat_id, self.token))
            closing = False
            while True:
                message = await asyncio.wait_for(self.inbox.get(), timeout)
                result.last_reply = message.at
                if not message.buttons and not closing:
                    continue  # the greeting before the first question
                self._measure(message.at - sent)
                if not message.buttons:
                    result.completed = True
                    return
                data = choose(message.buttons, self.rng)
                closing = is_last_question(message.buttons)
                if data.startswith("v:"):
                    result.scale_answers += 1
                hold = pause(result) if pause is not None else None
                if hold is not None:
                    await hold.wait()
                sent = await self._post(http, url, secret,
                                        press_update(self.chat_id, message, data))
        except TimeoutError:
            result.error = "timeout"
        except Exception as exc:  # counted as not completed, and said why
            result.error = f"{exc.__class__.__name__}: {exc}"

    def _measure(self, seconds: float) -> None:
        self.result.latencies.append(seconds)
        if self.mark is not None and self.mark.is_set():
            self.result.tagged.append(seconds)


_CHOICES_FORM = re.compile(r'<form method="post" class="choices[^"]*"[^>]*>(.*?)</form>', re.S)
_MSG_ID = re.compile(r'name="msg_id" value="([^"]+)"')
_CHOICE = re.compile(r'name="choice" value="([^"]+)"')


def read_page(html: str) -> tuple[int, tuple[str, ...], str | None]:
    """(messages shown, the current question's choices, that form's msg_id)."""
    shown = html.count("<li>")
    form = _CHOICES_FORM.search(html)
    if form is None:
        return shown, (), None
    msg_id = _MSG_ID.search(form[1])
    return shown, tuple(_CHOICE.findall(form[1])), msg_id[1] if msg_id else None


class WebChatChild:
    """Opens /chat/{token}, taps an answer (a form post that redirects to the page), and
    reads the page until it shows the next question (reloading after 0.1, 0.2, 0.4, 0.8 s,
    then every second, when the page it was sent to does not show it yet); done at the
    closing message."""

    def __init__(self, token: str, rng: random.Random) -> None:
        self.token, self.rng = token, rng
        self.result = ChildResult()

    async def _until(self, http: aiohttp.ClientSession, url: str, seen: int, closing: bool,
                     timeout: float, html: str | None = None
                     ) -> tuple[int, tuple[str, ...], str | None]:
        deadline = time.perf_counter() + timeout
        redirected = html is not None
        wait = 0.1  # then reloading less often, as a person would: up to once a second
        while True:
            if html is None:
                async with http.get(url) as response:
                    html = await response.text()
            shown, choices, msg_id = read_page(html)
            if shown > seen and (choices or closing):
                return shown, choices, msg_id
            if time.perf_counter() > deadline:
                raise TimeoutError
            if redirected:
                self.result.stale_pages += 1
                redirected = False
            html = None
            await asyncio.sleep(wait)
            wait = min(1.0, wait * 2)

    async def run(self, http: aiohttp.ClientSession, base: str, timeout: float) -> None:
        result, url = self.result, f"{base}/chat/{self.token}"
        try:
            shown, choices, msg_id = await self._until(http, url, 0, False, timeout)
            closing = False
            while True:
                data = choose(choices, self.rng)
                closing = is_last_question(choices)
                if data.startswith("v:"):
                    result.scale_answers += 1
                sent = time.perf_counter()
                if result.first_post is None:
                    result.first_post = sent
                result.posted += 1
                async with http.post(url, data={"choice": data, "msg_id": msg_id or ""}
                                     ) as response:  # follows the 303 to the page
                    html = await response.text()
                shown, choices, msg_id = await self._until(http, url, shown, closing, timeout,
                                                           html)
                now = time.perf_counter()
                result.latencies.append(now - sent)
                result.last_reply = now
                if not choices:
                    result.completed = True
                    return
        except TimeoutError:
            result.error = "timeout"
        except Exception as exc:  # counted as not completed, and said why
            result.error = f"{exc.__class__.__name__}: {exc}"
