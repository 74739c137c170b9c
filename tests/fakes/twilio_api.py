"""A fake Twilio Messages API over real HTTP, which can also send signed webhooks like Twilio."""

from __future__ import annotations

import copy
import math
from base64 import b64encode
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from tests.fakes.server import FakeServer, Fault, Recorded
from tests.fakes.webhooks import load_fixture, twilio_form, twilio_request

API_VERSION = "2010-04-01"


def _error(name: str, status: int, **overrides: Any) -> web.Response:
    body = load_fixture("twilio", name)
    body.update(overrides)
    return web.json_response(body, status=status)


def _missing(code: int, message: str) -> web.Response:
    return web.json_response(
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": 400,
        },
        status=400,
    )


def _rfc2822(moment: datetime) -> str:
    return moment.strftime("%a, %d %b %Y %H:%M:%S +0000")


def _date_filter(value: str) -> date:
    # The real API reads only the date ("YYYY-MM-DD"); the twilio library sends a datetime
    # ("YYYY-MM-DDTHH:MM:SSZ") when given one, and its time of day is ignored.
    return date.fromisoformat(value[:10])


def _segments(body: str) -> int:
    # Rough on purpose (the fake is no encoder): GSM-7 when all characters are Latin-1.
    single, multi = (160, 153) if all(ord(c) < 256 for c in body) else (70, 67)
    return 1 if len(body) <= single else math.ceil(len(body) / multi)


# Called with each created message (the resource JSON) before the answer is written.
OnCreated = Callable[[dict[str, Any]], Awaitable[None] | None]


class FakeTwilioAPI(FakeServer):
    """POST (create) and GET (list) /2010-04-01/Accounts/{sid}/Messages.json with Basic auth.

    Created messages are kept in `messages` (sid -> resource JSON plus "status_callback"), so
    `emit_status` can later post a signed status callback to the URL the client gave. Like
    Twilio, a new message is "queued" with no `date_sent`; it counts as sent (status "sent",
    `date_sent` set) `send_delay` seconds after creation, which listing filters by DateSent see.

    `on_created` runs after a message exists but before its answer is written: a test can kill
    the client's process there, the one moment when only the provider knows the message went.
    `stall_created` answers that many created messages only after `stall_seconds`, so the
    client times out although the message exists.
    """

    def __init__(self, account_sid: str, auth_token: str) -> None:
        super().__init__()
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.messages: dict[str, dict[str, Any]] = {}
        self.send_delay = 0.0
        self.on_created: OnCreated | None = None
        self.stall_created = 0
        self.stall_seconds = 30.0
        self._counter = 0

    def _add_routes(self, app: web.Application) -> None:
        path = f"/{API_VERSION}/Accounts/{{sid}}/Messages.json"
        app.router.add_post(path, self._create)
        app.router.add_get(path, self._list)

    def inject(
        self,
        fault: Fault,
        *,
        times: int | None = 1,
        target: str | int | None = None,
        name: str | None = "Messages",
    ) -> None:
        """Like FakeServer.inject; `target` is the recipient's number (+45...)."""
        if fault.kind == "blocked":
            raise ValueError("blocked is a Telegram fault")
        super().inject(fault, times=times, target=target, name=name)

    def created(self, to: str | None = None) -> list[Recorded]:
        """Requests that created a message (201), optionally to one number."""
        return [r for r in self.calls("Messages", target=to) if r.status == 201]

    def bodies(self, to: str | None = None) -> list[str]:
        """The body of every message that exists here (created, answered or not)."""
        return [m["body"] for m in self.messages.values() if to is None or m["to"] == to]

    def _authorised(self, request: web.Request) -> bool:
        expected = f"{self.account_sid}:{self.auth_token}".encode()
        if request.headers.get("Authorization", "") != "Basic " + b64encode(expected).decode():
            return False
        return bool(request.match_info["sid"] == self.account_sid)

    async def _create(self, request: web.Request) -> web.Response:
        form = await request.post()
        params = {k: v for k, v in form.items() if isinstance(v, str)}
        entry = self._record(request, "Messages", params, params.get("To"))
        response = await self._answer(request, params, entry)
        entry.status = response.status
        return response

    async def _answer(
        self, request: web.Request, params: dict[str, str], entry: Recorded
    ) -> web.Response:
        if not self._authorised(request):
            return _error("error_401.json", 401)
        fault = self._take_fault("Messages", entry.target)
        if fault is not None:
            entry.fault = fault.kind
            return await self._fault(fault, params)
        if not params.get("To"):
            return _missing(21604, "A 'To' phone number is required.")
        if not params.get("From") and not params.get("MessagingServiceSid"):
            return _missing(21603, "A 'From' phone number is required.")
        if not params.get("Body"):
            return _missing(21602, "Message body is required.")
        if len(params["Body"]) > 1600:
            return _missing(
                21617, "The concatenated message body exceeds the 1600 character limit."
            )
        message = self._message(params)
        if self.on_created is not None:
            waiting = self.on_created(message)
            if waiting is not None:
                await waiting
        if self.stall_created > 0:
            self.stall_created -= 1
            await self._hang(Fault.hang(self.stall_seconds))
        return web.json_response(message, status=201)

    # -- listing --------------------------------------------------------------------------

    async def _list(self, request: web.Request) -> web.Response:
        """GET Messages.json: To, From, DateSent / DateSent< / DateSent> (GMT dates, inclusive),
        PageSize (default 50, at most 1000) and PageToken; newest first, paged like Twilio."""
        query = request.query
        entry = self._record(request, "ListMessages", dict(query), query.get("To"))
        response = self._listing(request) if self._authorised(request) else None
        if response is None:
            response = _error("error_401.json", 401)
        else:
            fault = self._take_fault("ListMessages", entry.target)
            if fault is not None:
                entry.fault = fault.kind
                response = await self._fault(fault, {})
        entry.status = response.status
        return response

    def _listing(self, request: web.Request) -> web.Response:
        query = request.query
        try:
            size = min(1000, max(1, int(query.get("PageSize", "50"))))
            page = max(0, int(query.get("Page", "0")))
            on = {op: _date_filter(query[f"DateSent{op}"])
                  for op in ("", "<", ">") if query.get(f"DateSent{op}")}
        except ValueError:
            return _missing(20001, "Invalid date value.")
        self._advance()
        matching = []
        for message in self._newest_first():
            if query.get("To") and message["to"] != query["To"]:
                continue
            if query.get("From") and message["from"] != query["From"]:
                continue
            if on:
                if not message["date_sent"]:
                    continue  # not sent yet: a DateSent filter cannot match it
                sent = parsedate_to_datetime(message["date_sent"]).date()
                if ("" in on and sent != on[""]) or ("<" in on and sent > on["<"]) \
                        or (">" in on and sent < on[">"]):
                    continue
            matching.append(message)
        start = 0
        token = query.get("PageToken", "")
        if token.startswith("PA"):  # resume after the last message of the previous page
            sids = [m["sid"] for m in matching]
            start = sids.index(token[2:]) + 1 if token[2:] in sids else len(matching)
        items = matching[start : start + size]
        keep = [(k, v) for k, v in query.items() if k not in ("Page", "PageSize", "PageToken")]
        base = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages.json"

        def uri(page_number: int, last_sid: str | None = None) -> str:
            pairs = [*keep, ("PageSize", str(size)), ("Page", str(page_number))]
            if last_sid:
                pairs.append(("PageToken", f"PA{last_sid}"))
            return f"{base}?{urlencode(pairs)}"

        more = start + size < len(matching)
        return web.json_response({
            "messages": [self._public(m) for m in items],
            "end": start + max(len(items), 1) - 1,
            "first_page_uri": uri(0),
            "next_page_uri": uri(page + 1, items[-1]["sid"]) if more and items else None,
            "page": page,
            "page_size": size,
            "previous_page_uri": uri(page - 1) if page else None,
            "start": start,
            "uri": uri(page, token[2:] or None) if token else uri(page),
        })

    def _newest_first(self) -> list[dict[str, Any]]:
        return sorted(self.messages.values(),
                      key=lambda m: (parsedate_to_datetime(m["date_created"]), m["sid"]),
                      reverse=True)

    def _advance(self) -> None:
        """Messages queued for `send_delay` seconds have been sent by now."""
        now = datetime.now(UTC)
        for message in self.messages.values():
            if message["status"] != "queued":
                continue
            created = parsedate_to_datetime(message["date_created"])
            if now - created >= timedelta(seconds=self.send_delay):
                message.update(status="sent", date_sent=_rfc2822(created + timedelta(
                    seconds=self.send_delay)), date_updated=_rfc2822(now))

    @staticmethod
    def _public(message: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in message.items() if k != "status_callback"}

    async def _fault(self, fault: Fault, params: dict[str, str]) -> web.Response:
        if fault.kind == "hang":
            await self._hang(fault)
            return _error("error_500.json", 500)
        if fault.kind == "rate_limited":
            return _error("error_429.json", 429)
        if fault.kind == "opted_out":
            return _error("error_21610.json", 400)
        if fault.kind == "bad_request":
            message = fault.description or f"Invalid 'To' Phone Number: {params.get('To', '')}"
            return _error("error_21211.json", 400, message=message)
        return _error("error_500.json", 500)

    def _message(self, params: dict[str, str]) -> dict[str, Any]:
        self._counter += 1
        sid = f"SM{self._counter:032x}"
        now = _rfc2822(datetime.now(UTC))
        base = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}"
        message: dict[str, Any] = copy.deepcopy(load_fixture("twilio", "message_created.json"))
        message.update(
            account_sid=self.account_sid,
            body=params["Body"],
            date_created=now,
            date_updated=now,
            sid=sid,
            to=params["To"],
            status="queued",
            num_segments=str(_segments(params["Body"])),
            uri=f"{base}.json",
            subresource_uris={"media": f"{base}/Media.json"},
        )
        message["from"] = params.get("From")
        self.messages[sid] = {**message, "status_callback": params.get("StatusCallback")}
        return message

    async def emit_status(
        self, sid: str, status: str, *, error_code: int | None = None, url: str | None = None
    ) -> int:
        """POST a signed status callback for message `sid`, like Twilio; returns the status."""
        message = self.messages[sid]
        target = url or message["status_callback"]
        if not target:
            raise RuntimeError(f"{sid} was created without a StatusCallback")
        params = twilio_form(
            "status_delivered",
            SmsSid=sid,
            MessageSid=sid,
            SmsStatus=status,
            MessageStatus=status,
            To=message["to"],
            From=message["from"] or "",
            AccountSid=self.account_sid,
        )
        if error_code is not None:
            params["ErrorCode"] = str(error_code)
        message["status"] = status
        if status in ("sent", "delivered", "undelivered") and not message["date_sent"]:
            message["date_sent"] = _rfc2822(datetime.now(UTC))
        return await self.post_signed(target, params)

    async def send_inbound(self, url: str, *, from_: str, body: str, to: str = "") -> int:
        """POST a signed inbound-SMS webhook to `url`, like Twilio; returns the HTTP status."""
        self._counter += 1
        sid = f"SM{self._counter:032x}"
        params = twilio_form(
            "inbound_sms", From=from_, Body=body, MessageSid=sid, SmsSid=sid, SmsMessageSid=sid
        )
        if to:
            params["To"] = to
        params["AccountSid"] = self.account_sid
        return await self.post_signed(url, params)

    async def post_signed(self, url: str, params: dict[str, str]) -> int:
        """POST a form signed with the auth token; returns the HTTP status."""
        headers, body = twilio_request(url, params, self.auth_token)
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, data=body, headers=headers) as response,
        ):
            return response.status
