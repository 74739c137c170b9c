"""Telegram: the Bot API adapter, its webhook route, update parsing and polling."""
