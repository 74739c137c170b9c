"""The one mapping of provider errors to retry / stop / failed, table-driven."""

from __future__ import annotations

from datetime import timedelta

import aiohttp
import pytest
from telegram import error as tg
from twilio.base.exceptions import TwilioRestException

from bot.channels.base import Failed, Retry, SendResult, Stop
from bot.channels.errors import map_telegram_error, map_twilio_error

URI = "/2010-04-01/Accounts/AC1/Messages.json"


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        pytest.param(tg.RetryAfter(12), Retry(12.0, "rate_limited"), id="retry after int"),
        pytest.param(
            tg.RetryAfter(timedelta(seconds=3)), Retry(3.0, "rate_limited"), id="retry timedelta"
        ),
        pytest.param(tg.TimedOut(), Retry(10.0, "timeout"), id="timed out"),
        pytest.param(tg.NetworkError("Bad Gateway"), Retry(5.0, "network"), id="network"),
        pytest.param(
            tg.Forbidden("Forbidden: bot was blocked by the user"), Stop("blocked"), id="blocked"
        ),
        pytest.param(
            tg.Forbidden("Forbidden: user is deactivated"), Stop("blocked"), id="deactivated"
        ),
        pytest.param(tg.BadRequest("Chat not found"), Failed("bad_request"), id="bad request"),
        pytest.param(tg.InvalidToken(), Failed("invalid_token"), id="invalid token"),
        pytest.param(tg.ChatMigrated(-100123), Failed("chat_migrated"), id="migrated"),
        pytest.param(TimeoutError(), Retry(10.0, "timeout"), id="plain timeout"),
    ],
)
def test_telegram_errors(exc: BaseException, expected: SendResult) -> None:
    assert map_telegram_error(exc) == expected


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        pytest.param(
            TwilioRestException(400, URI, "unsubscribed", 21610, "POST"),
            Stop("opted_out"),
            id="21610",
        ),
        pytest.param(
            TwilioRestException(429, URI, "too many", 20429, "POST"),
            Retry(2.0, "rate_limited"),
            id="429",
        ),
        pytest.param(
            TwilioRestException(503, URI, "unavailable", 503, "POST"),
            Retry(5.0, "server_error"),
            id="503",
        ),
        pytest.param(
            TwilioRestException(400, URI, "invalid To", 21211, "POST"),
            Failed("invalid_address"),
            id="21211",
        ),
        pytest.param(
            TwilioRestException(400, URI, "other", 21606, "POST"),
            Failed("rejected:21606"),
            id="other 4xx",
        ),
        pytest.param(
            TwilioRestException(404, URI, "no json", None, "POST"),
            Failed("rejected:404"),
            id="4xx without code",
        ),
        pytest.param(aiohttp.ServerTimeoutError(), Retry(10.0, "timeout"), id="read timeout"),
        pytest.param(TimeoutError(), Retry(10.0, "timeout"), id="total timeout"),
        pytest.param(
            aiohttp.ClientConnectionError(), Retry(5.0, "network"), id="connection refused"
        ),
    ],
)
def test_twilio_errors(exc: BaseException, expected: SendResult) -> None:
    assert map_twilio_error(exc) == expected
