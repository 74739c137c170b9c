"""Fixtures for the channel tests: the fake provider servers and adapters wired to them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.channels.sms.channel import TwilioSmsChannel
from bot.channels.telegram.channel import TelegramChannel
from tests.fakes.fixtures import (
    PUBLIC_URL,
    fake_telegram,
    fake_twilio,
    sms_channel,
    telegram_channel,
)
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.twilio_api import FakeTwilioAPI

__all__ = ["PUBLIC_URL", "fake_telegram", "fake_twilio"]

# Short enough that a hanging fake costs little, long enough for a loaded CI machine.
TEST_TIMEOUT = 0.5


@pytest.fixture
async def telegram(fake_telegram: FakeTelegramAPI) -> AsyncIterator[TelegramChannel]:
    """A started TelegramChannel talking to the fake over real HTTP."""
    async with telegram_channel(fake_telegram, TEST_TIMEOUT) as channel:
        yield channel


@pytest.fixture
async def sms(fake_twilio: FakeTwilioAPI) -> AsyncIterator[TwilioSmsChannel]:
    """A started TwilioSmsChannel talking to the fake over real HTTP."""
    async with sms_channel(fake_twilio, TEST_TIMEOUT) as channel:
        yield channel
