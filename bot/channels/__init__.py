"""Channel adapters: transport only (verify and parse provider requests, send messages)."""

from bot.channels.base import (
    ChannelError,
    ChannelInfo,
    ChannelName,
    Failed,
    ForgedRequest,
    Handler,
    Inbound,
    InboundKind,
    MalformedRequest,
    Retry,
    SendResult,
    Sent,
    Stop,
)

__all__ = [
    "ChannelError",
    "ChannelInfo",
    "ChannelName",
    "Failed",
    "ForgedRequest",
    "Handler",
    "Inbound",
    "InboundKind",
    "MalformedRequest",
    "Retry",
    "SendResult",
    "Sent",
    "Stop",
]
