"""The runtime's own message catalogues (gettext .po, read with Babel), Danish first."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).with_name("locale")
LANGUAGES = ("da", "en")


@lru_cache(maxsize=4)
def _catalogue(language: str) -> dict[str, str]:
    path = LOCALE_DIR / language / "LC_MESSAGES" / "bot.po"
    with path.open("rb") as fh:
        catalogue = read_po(fh, locale=language)
    return {str(m.id): str(m.string) for m in catalogue if m.id and m.string}


def t(key: str, language: str = "da") -> str:
    """The message `key` in `language` (Danish when the language or key is missing)."""
    lang = language if language in LANGUAGES else "da"
    return _catalogue(lang).get(key) or _catalogue("da").get(key) or key
