"""The long-lived parts one process needs: settings, engine, keys, vault and blind index."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from sqlalchemy import Engine

from bot.i18n import t
from bot.runtime.settings import Settings
from consent import audit
from storage.blind_index import BlindIndex
from storage.db import make_engine
from storage.keys import KeyRing, load_keyring
from storage.vault import Vault


@dataclass
class Runtime:
    """Built once per process from settings; everything else is handed what it needs."""

    settings: Settings

    @cached_property
    def engine(self) -> Engine:
        """The database engine; audit entries appended through it are keyed."""
        engine = make_engine(self.settings.resolved_database_url)
        audit.bind_key(engine, self.keys.audit_key)
        return engine

    @cached_property
    def keys(self) -> KeyRing:
        """The master key ring (the key file is created on first use)."""
        return load_keyring(self.settings.resolved_key_file, self.settings.keys)

    @cached_property
    def vault(self) -> Vault:
        """Field encryption with envelope keys."""
        return Vault(self.keys)

    @cached_property
    def index(self) -> BlindIndex:
        """Blind indexes for phone numbers and chat ids."""
        return BlindIndex(self.keys)

    @staticmethod
    def goodbye(language: str) -> str:
        """The neutral goodbye a closed case's participants get, from the bot's catalogue."""
        return t("case.goodbye", language)

    def close(self) -> None:
        """Release the database pool."""
        if "engine" in self.__dict__:
            self.engine.dispose()
