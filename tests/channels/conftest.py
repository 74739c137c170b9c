"""Fixtures for the channel tests: the fake provider servers and adapters wired to them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.channels.telegram import TelegramChannel
from bot.channels.twilio_sms import TwilioSmsChannel
from tests.fakes.fixtures import (
    TELEGRAM_SECRET,
    TELEGRAM_TOKEN,
    TWILIO_ACCOUNT_SID,
    TWILIO_AUTH_TOKEN,
    TWILIO_FROM,
    fake_telegram,
    fake_twilio,
)
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.twilio_api import FakeTwilioAPI

__all__ = ["fake_telegram", "fake_twilio"]

PUBLIC_URL = "https://stemme.example.org"
# Short enough that a hanging fake costs little, long enough for a loaded CI machine.
TEST_TIMEOUT = 0.5


@pytest.fixture
async def telegram(fake_telegram: FakeTelegramAPI) -> AsyncIterator[TelegramChannel]:
    """A started TelegramChannel talking to the fake over real HTTP."""
    channel = TelegramChannel(
        token=TELEGRAM_TOKEN,
        webhook_secret=TELEGRAM_SECRET,
        api_url=fake_telegram.url,
        timeout=TEST_TIMEOUT,
    )
    async with channel:
        yield channel


@pytest.fixture
async def sms(fake_twilio: FakeTwilioAPI) -> AsyncIterator[TwilioSmsChannel]:
    """A started TwilioSmsChannel talking to the fake over real HTTP."""
    channel = TwilioSmsChannel(
        account_sid=TWILIO_ACCOUNT_SID,
        auth_token=TWILIO_AUTH_TOKEN,
        from_number=TWILIO_FROM,
        public_url=PUBLIC_URL,
        api_url=fake_twilio.url,
        timeout=TEST_TIMEOUT,
    )
    async with channel:
        yield channel
