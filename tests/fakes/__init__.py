"""Fakes of outside services (Telegram Bot API, Twilio) as real in-process HTTP servers."""
