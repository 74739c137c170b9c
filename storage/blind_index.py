"""Keyed HMAC blind indexes: find a participant by phone or chat id without storing either."""

from __future__ import annotations

import hashlib
import hmac
import re

import phonenumbers

from storage.keys import KeyRing


class InvalidPhoneNumber(ValueError):
    """A phone number that cannot be read; the message says what format is expected."""


# A Danish number already in E.164, as Twilio sends every sender: it is its own normal form
# (every 8-digit Danish number is "possible"; a property test holds this to phonenumbers).
_DANISH_E164 = re.compile(r"\+45[0-9]{8}")


def normalise_phone(raw: str, region: str = "DK") -> str:
    """A phone number in E.164 (`+4512345678`); Danish numbers may omit +45."""
    if _DANISH_E164.fullmatch(raw):  # every inbound SMS asks: skip parsing it
        return raw
    text = raw.strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise InvalidPhoneNumber(
            f"{raw!r} is not a phone number; write it like +45 12 34 56 78"
        ) from None
    # "Possible" (right length for the country), not "valid": numbering plans change faster
    # than the library, and refusing a parent's real number would silence them.
    if not phonenumbers.is_possible_number(number):
        raise InvalidPhoneNumber(f"{raw!r} has the wrong number of digits; check it")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class BlindIndex:
    """HMAC-SHA256 over normalised values, with keys HKDF-derived per purpose."""

    def __init__(self, ring: KeyRing) -> None:
        self._phone = ring.derive("blind-index/phone")
        self._chat = ring.derive("blind-index/telegram-chat")

    def phone(self, raw: str) -> str:
        """The index of a phone number, the same for every common spelling of it."""
        value = normalise_phone(raw).encode()
        return hmac.new(self._phone, value, hashlib.sha256).hexdigest()

    def chat(self, chat_id: int | str) -> str:
        """The index of a Telegram chat id."""
        value = str(int(chat_id)).encode()
        return hmac.new(self._chat, value, hashlib.sha256).hexdigest()
