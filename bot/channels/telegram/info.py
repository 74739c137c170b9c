"""What a Telegram chat can show and how fast the Bot API may be driven."""

from __future__ import annotations

from typing import Final

from bot.channels.base import ChannelInfo
from bot.flows.messages import Capabilities

MAX_TEXT: Final = 4096

TELEGRAM_INFO: Final = ChannelInfo(
    capabilities=Capabilities(
        buttons=True, max_length=MAX_TEXT, several_answers_per_message=False, gsm7_segments=None
    ),
    messages_per_second=30.0,
    per_address_per_second=1.0,
    # Telegram takes a short burst in one chat: a greeting and its question arrive together.
    per_address_burst=3,
)
