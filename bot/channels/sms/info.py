"""What an SMS can hold and how fast a Twilio long code sends."""

from __future__ import annotations

from typing import Final

from bot.channels.base import ChannelInfo
from bot.flows.messages import Capabilities

MAX_BODY: Final = 1600  # Twilio refuses longer bodies (error 21617)

SMS_INFO: Final = ChannelInfo(
    capabilities=Capabilities(
        buttons=False,
        max_length=MAX_BODY,
        several_answers_per_message=True,  # "7 6 8 9" answers four items at once
        gsm7_segments=2,  # keep prompts within 306 GSM-7 characters
    ),
    messages_per_second=1.0,
    per_address_per_second=None,
    segments_per_second=1.0,  # a long code sends about one segment a second
)
