"""A fake Twilio Messages API over real HTTP, which can also send signed webhooks like Twilio."""

from __future__ import annotations

import copy
import math
from base64 import b64encode
from datetime import UTC, datetime
from typing import Any

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


def _segments(body: str) -> int:
    # Rough on purpose (the fake is no encoder): GSM-7 when all characters are Latin-1.
    single, multi = (160, 153) if all(ord(c) < 256 for c in body) else (70, 67)
    return 1 if len(body) <= single else math.ceil(len(body) / multi)


class FakeTwilioAPI(FakeServer):
    """POST /2010-04-01/Accounts/{sid}/Messages.json with Basic auth, like Twilio.

    Created messages are kept in `messages` (sid -> resource JSON plus "status_callback"), so
    `emit_status` can later post a signed status callback to the URL the client gave.
    """

    def __init__(self, account_sid: str, auth_token: str) -> None:
        super().__init__()
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.messages: dict[str, dict[str, Any]] = {}
        self._counter = 0

    def _add_routes(self, app: web.Application) -> None:
        app.router.add_post(f"/{API_VERSION}/Accounts/{{sid}}/Messages.json", self._create)

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
        expected = f"{self.account_sid}:{self.auth_token}".encode()
        if request.headers.get("Authorization", "") != "Basic " + b64encode(expected).decode():
            return _error("error_401.json", 401)
        if request.match_info["sid"] != self.account_sid:
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
        return web.json_response(self._message(params), status=201)

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
