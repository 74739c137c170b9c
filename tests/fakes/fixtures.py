"""Pytest fixtures that run the fake provider servers; import them into a conftest to use."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.channels.sms.channel import TwilioSmsChannel
from bot.channels.telegram.channel import TelegramChannel
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.twilio_api import FakeTwilioAPI

TELEGRAM_TOKEN = "7000000001:AAFakeTokenForTests_0123456789abcdef"
TELEGRAM_SECRET = "test-secret_0123456789"
TWILIO_ACCOUNT_SID = "AC" + "a" * 32
TWILIO_AUTH_TOKEN = "0123456789abcdef0123456789abcdef"
TWILIO_FROM = "+4550000000"
PUBLIC_URL = "https://stemme.example.org"


@pytest.fixture
async def fake_telegram() -> AsyncIterator[FakeTelegramAPI]:
    """A FakeTelegramAPI for TELEGRAM_TOKEN, recording only (no 429 on its own)."""
    async with FakeTelegramAPI(TELEGRAM_TOKEN) as fake:
        yield fake


@pytest.fixture
async def fake_twilio() -> AsyncIterator[FakeTwilioAPI]:
    """A FakeTwilioAPI for TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN."""
    async with FakeTwilioAPI(TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN) as fake:
        yield fake


def telegram_channel(fake: FakeTelegramAPI, timeout: float) -> TelegramChannel:
    """The real Telegram adapter pointed at a fake Bot API."""
    return TelegramChannel(token=TELEGRAM_TOKEN, webhook_secret=TELEGRAM_SECRET,
                           api_url=fake.url, timeout=timeout)


def sms_channel(fake: FakeTwilioAPI, timeout: float) -> TwilioSmsChannel:
    """The real Twilio adapter pointed at a fake Twilio API."""
    return TwilioSmsChannel(account_sid=TWILIO_ACCOUNT_SID, auth_token=TWILIO_AUTH_TOKEN,
                            from_number=TWILIO_FROM, public_url=PUBLIC_URL, api_url=fake.url,
                            timeout=timeout)
