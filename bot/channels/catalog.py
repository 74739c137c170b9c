"""What each channel can do, by name: the host asks this, never which channel it is on."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from bot.channels.base import ChannelInfo
from bot.channels.sms.info import SMS_INFO
from bot.channels.telegram.info import TELEGRAM_INFO
from bot.channels.webchat.info import WEBCHAT_INFO

INFO: Final[Mapping[str, ChannelInfo]] = {
    "telegram": TELEGRAM_INFO, "sms": SMS_INFO, "webchat": WEBCHAT_INFO}
