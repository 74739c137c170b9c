"""What a flow says and what a channel can show: the contract between flows and channels."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# How a channel should lay out the choices of one message. A flow never names a channel; it
# names the kind of choice and the channel decides buttons, keyboard rows or a text hint.
Layout = Literal["none", "scale", "faces", "yes_no", "list"]


@dataclass(frozen=True, slots=True)
class Choice:
    """One answer a person can pick; `data` comes back verbatim as a button press."""

    label: str  # what the person sees on a button ("7", "😀", "Ja")
    data: str  # the payload sent back (Telegram callback_data: at most 64 bytes)


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a channel can show; flows adapt their wording to this, never to a channel name."""

    buttons: bool = False  # can show tappable choices
    max_length: int = 4096  # longest text in one message
    several_answers_per_message: bool = False  # e.g. SMS: "7 6 8 9" answers four items
    gsm7_segments: int | None = None  # SMS: stay within this many GSM-7 segments


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """A message for one person, channel-neutral: text plus abstract choices."""

    text: str
    choices: tuple[Choice, ...] = ()
    layout: Layout = "none"
    # A key the flow can use to say "replace the keyboard of the previous prompt" etc.
    purpose: str = "survey"
    meta: dict[str, str] = field(default_factory=dict)
    # Quiet choices shown apart from the answers, one per row (the "I need an adult" button)
    aside: tuple[Choice, ...] = ()
