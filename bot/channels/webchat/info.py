"""What the web-chat page can show (no provider limits)."""

from __future__ import annotations

from typing import Final

from bot.channels.base import ChannelInfo
from bot.flows.messages import Capabilities

WEBCHAT_INFO: Final = ChannelInfo(
    capabilities=Capabilities(buttons=True, max_length=4096, several_answers_per_message=False)
)
