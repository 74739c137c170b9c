"""The message catalogues: compiled .mo files match their .po sources, both languages agree."""

from __future__ import annotations

import re
from gettext import GNUTranslations
from io import BytesIO
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo

from bot.flows.catalogue import LOCALE_DIR, load_catalogue
from bot.flows.gsm7 import is_gsm7
from tests.flows.conversation import po_messages, read_catalogue

LANGUAGES = ("da", "en")


def _compiled(language: str) -> bytes:
    buffer = BytesIO()
    write_mo(buffer, read_catalogue(language))
    return buffer.getvalue()


def _contents(mo: bytes) -> dict[str, str]:
    """A compiled catalogue's messages; the header minus the line naming Babel's version."""
    messages = dict(GNUTranslations(BytesIO(mo))._catalog)  # type: ignore[attr-defined]
    header = messages.pop("", "")
    kept = [line for line in header.splitlines() if not line.startswith("Generated-By:")]
    return {**messages, "": "\n".join(kept)}


@pytest.mark.parametrize("language", LANGUAGES)
def test_committed_mo_is_the_compiled_po(language: str, update_golden: bool) -> None:
    mo_path: Path = LOCALE_DIR / language / "LC_MESSAGES" / "flows.mo"
    compiled = _compiled(language)

    if update_golden:
        mo_path.write_bytes(compiled)
        load_catalogue.cache_clear()  # so the transcripts below are written with the new text

    # Compared by content, so a newer Babel (which names itself in the header) still passes.
    assert _contents(mo_path.read_bytes()) == _contents(compiled), (
        "the .mo is out of date: recompile with pytest tests/flows --update-golden"
    )


def test_both_languages_have_the_same_keys() -> None:
    danish, english = po_messages("da"), po_messages("en")

    assert set(danish) == set(english)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated_and_uses_the_same_fields(language: str) -> None:
    danish, other = po_messages("da"), po_messages(language)

    for key, text in other.items():
        assert text.strip(), f"{language}: {key} is empty"
        fields = set(re.findall(r"\{(\w+)\}", text))
        assert fields == set(re.findall(r"\{(\w+)\}", danish[key])), key


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_can_go_by_sms_without_emoji(language: str) -> None:
    for key, text in po_messages(language).items():
        assert is_gsm7(text), f"{language}: {key} has a character outside GSM-7"


@pytest.mark.parametrize("language", LANGUAGES)
def test_stdlib_gettext_loads_the_committed_catalogue(language: str) -> None:
    catalogue = load_catalogue(language)

    assert catalogue.has("thanks.child")
    assert not catalogue.has("no.such.key")
    assert catalogue.text("greeting", "observer", child="Emma").count("Emma") == 1
