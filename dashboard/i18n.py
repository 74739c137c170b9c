"""Dashboard texts from gettext catalogues (Danish first, English switch), read with Babel."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).with_name("locale")
LANGUAGES = ("da", "en")
DEFAULT = "da"


@lru_cache(maxsize=4)
def catalogue(language: str) -> dict[str, str]:
    """The key -> text mapping of one language's dashboard.po."""
    path = LOCALE_DIR / language / "LC_MESSAGES" / "dashboard.po"
    with path.open("rb") as fh:
        parsed = read_po(fh, locale=language)
    return {str(m.id): str(m.string) for m in parsed if m.id and m.string}


def language_or_default(language: str | None) -> str:
    """A supported language code, Danish when unknown."""
    return language if language in LANGUAGES else DEFAULT


def t(key: str, language: str = DEFAULT, **values: object) -> str:
    """The text `key` in `language` with %(name)s placeholders filled (Danish when missing)."""
    lang = language_or_default(language)
    text = catalogue(lang).get(key) or catalogue(DEFAULT).get(key) or key
    return text % values if values else text


def error_key(code: str) -> str:
    """The catalogue key of a refused case action's stable code (casework.errors.CODES)."""
    return f"error.{code}"
