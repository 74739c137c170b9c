"""The one place where provider and transport errors become retry, stop or failed decisions."""

from __future__ import annotations

import os
from datetime import timedelta

import aiohttp
from telegram import error as tg
from twilio.base.exceptions import TwilioRestException, TwilioServiceException

from bot.channels.base import Failed, Retry, SendResult, Stop

# Backoff hints when the provider names no wait of its own. The dispatcher may grow them; these
# are the first wait only. Timeouts wait longest because the message may have gone out anyway.
NETWORK_BACKOFF = 5.0
TIMEOUT_BACKOFF = 10.0
SERVER_ERROR_BACKOFF = 5.0
RATE_LIMIT_BACKOFF = 2.0  # Twilio's 429 carries no Retry-After we can read through the client

# PTB 22.2+ warns on every read of RetryAfter.retry_after (even while building the exception)
# unless this opt-in to its future timedelta behaviour is set; _seconds() accepts both forms.
os.environ.setdefault("PTB_TIMEDELTA", "true")

TWILIO_OPTED_OUT = 21610  # "Attempt to send to unsubscribed recipient"
# Codes that say the number can never receive from us; retrying would only cost money.
TWILIO_FAILED_CODES = {21211: "invalid_address", 21614: "not_mobile", 21408: "region_disabled"}


def _seconds(value: int | float | timedelta) -> float:
    """PTB 22 gives retry_after as int or timedelta depending on PTB_TIMEDELTA."""
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)


def _as_int(value: object) -> int | None:
    """Twilio error codes arrive as JSON numbers, but nothing in the client promises that."""
    try:
        return int(str(value))
    except ValueError:
        return None


def map_telegram_error(exc: BaseException) -> SendResult:
    """Decide what a python-telegram-bot error means for the message being sent."""
    # Order matters: TimedOut is a NetworkError, and Forbidden/BadRequest must not read as
    # network trouble.
    if isinstance(exc, tg.RetryAfter):
        return Retry(after_seconds=_seconds(exc.retry_after), reason="rate_limited")
    if isinstance(exc, tg.Forbidden):
        return Stop(reason="blocked")
    if isinstance(exc, tg.TimedOut):
        return Retry(after_seconds=TIMEOUT_BACKOFF, reason="timeout")
    if isinstance(exc, tg.BadRequest):
        return Failed(reason="bad_request")
    if isinstance(exc, tg.ChatMigrated):
        # Only groups migrate; Stemme talks in private chats, so the address is stale.
        return Failed(reason="chat_migrated")
    if isinstance(exc, tg.InvalidToken):
        return Failed(reason="invalid_token")
    if isinstance(exc, tg.NetworkError):
        # PTB raises NetworkError for 5xx answers too: both are worth a retry.
        return Retry(after_seconds=NETWORK_BACKOFF, reason="network")
    if isinstance(exc, tg.TelegramError):
        return Failed(reason="telegram_error")
    return _map_transport_error(exc)


def map_twilio_error(exc: BaseException) -> SendResult:
    """Decide what a Twilio REST error (or a transport error under it) means."""
    if isinstance(exc, TwilioRestException | TwilioServiceException):
        status = _as_int(exc.status) or 0
        code = _as_int(exc.code)
        if code == TWILIO_OPTED_OUT:
            return Stop(reason="opted_out")
        if status == 429:
            return Retry(after_seconds=RATE_LIMIT_BACKOFF, reason="rate_limited")
        if status >= 500:
            return Retry(after_seconds=SERVER_ERROR_BACKOFF, reason="server_error")
        if code in TWILIO_FAILED_CODES:
            return Failed(reason=TWILIO_FAILED_CODES[code])
        return Failed(reason=f"rejected:{code if code is not None else status}")
    return _map_transport_error(exc)


def _map_transport_error(exc: BaseException) -> SendResult:
    # aiohttp's ServerTimeoutError is both a ClientError and a TimeoutError: test timeouts first.
    if isinstance(exc, TimeoutError):
        return Retry(after_seconds=TIMEOUT_BACKOFF, reason="timeout")
    if isinstance(exc, aiohttp.ClientError | OSError):
        return Retry(after_seconds=NETWORK_BACKOFF, reason="network")
    return Failed(reason="unexpected_error")
