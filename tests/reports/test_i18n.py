"""The committed catalogues: compiled from the .po files, complete, placeholders intact."""

from __future__ import annotations

import io
import re

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from reports.i18n import LANGUAGES, compile_catalogue, po_path, texts


def _messages(mo: bytes) -> dict[object, object]:
    catalog = read_mo(io.BytesIO(mo))

    def frozen(value: object) -> object:
        return tuple(value) if isinstance(value, list | tuple) else value

    return {frozen(m.id): frozen(m.string) for m in catalog if m.id}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_recompiling_the_po_gives_the_committed_mo(lang: str) -> None:
    committed = po_path(lang).with_suffix(".mo").read_bytes()
    fresh = compile_catalogue(po_path(lang), lang)
    # The header names the Babel version that compiled it, so an upgrade alone must not fail
    # this test: compare every message and the plural rule instead of the raw bytes.
    assert _messages(fresh) == _messages(committed), "run: python -m reports.i18n"
    plural = re.compile(rb"Plural-Forms: [^\n]*")
    assert plural.findall(fresh) == plural.findall(committed)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_message_is_translated_with_the_same_placeholders(lang: str) -> None:
    with po_path(lang).open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    for message in catalog:
        if not message.id:
            continue
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        raw = message.string or ()
        strings = [raw] if isinstance(raw, str) else list(raw)
        wanted = set(re.findall(r"%\((\w+)\)", ids[-1]))
        for string in strings:
            assert string, f"{lang}: untranslated {ids[0]!r}"
            assert set(re.findall(r"%\((\w+)\)", string)) <= wanted | {"num"}, ids[0]


def test_danish_is_the_default_and_english_an_option() -> None:
    assert texts()("Stemme: weekly overview week %(week)d", week=48) == (
        "Stemme: ugeoversigt uge 48"
    )
    assert texts("en")("Stemme: weekly overview week %(week)d", week=48) == (
        "Stemme: weekly overview week 48"
    )
    assert texts("da").num(35.5) == "35,5" and texts("en").num(-6, signed=True) == "-6"
