"""The message catalogues: gettext .mo files per language, looked up by symbolic key."""

from __future__ import annotations

import gettext
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "flows"

_FIELD = re.compile(r"\{(\w+)\}")


def fill(template: str, values: Mapping[str, str]) -> str:
    """Put values into {name} fields in one pass; unknown fields and braces stay as written."""
    # One pass, so a value that itself holds "{child}" (a goal in the child's words) is never
    # expanded, and a licensed text with stray braces cannot break the engine.
    if "{" not in template:  # most messages have no fields
        return template
    return _FIELD.sub(lambda match: values.get(match.group(1), match.group(0)), template)


class Catalogue:
    """One language's messages. Keys are symbolic ("help.child"); both languages are complete."""

    def __init__(self, language: str, translations: gettext.NullTranslations) -> None:
        self.language = language
        self._translations = translations
        # (key, audience) -> template: a catalogue never changes once read, and a message
        # asks for a dozen of these.
        self._templates: dict[tuple[str, str | None], str] = {}

    def has(self, key: str) -> bool:
        """True when the catalogue holds a message for this key."""
        return self._translations.gettext(key) != key

    def resolve(self, key: str, audience: str | None = None) -> str:
        """The key actually used: `key.audience` when the catalogue has one, else `key`."""
        if audience is not None and self.has(f"{key}.{audience}"):
            return f"{key}.{audience}"
        if self.has(key):
            return key
        raise KeyError(f"catalogue {self.language!r} has no message {key!r}")

    def text(self, key: str, audience: str | None = None, **values: str) -> str:
        """The message for `key` (preferring its variant for `audience`), fields filled in."""
        template = self._templates.get((key, audience))
        if template is None:
            template = self._translations.gettext(self.resolve(key, audience))
            self._templates[key, audience] = template
        return fill(template, values)


@lru_cache(maxsize=4)
def load_catalogue(language: str) -> Catalogue:
    """The compiled catalogue for a language (`locale/<lang>/LC_MESSAGES/flows.mo`)."""
    found = gettext.find(DOMAIN, localedir=LOCALE_DIR, languages=[language])
    if found is None:
        raise FileNotFoundError(f"no {DOMAIN}.mo for {language!r} under {LOCALE_DIR}")
    # Read the file ourselves rather than through gettext.translation(), whose process-wide
    # cache would keep serving an old .mo after it is recompiled.
    with open(found, "rb") as handle:
        return Catalogue(language, gettext.GNUTranslations(handle))
