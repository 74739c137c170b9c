"""Instruments (surveys) as data: load the TOML files and overlay licensed text packs."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, cast

Kind = Literal["outcome", "session", "goal"]
ScaleType = Literal["numeric", "faces"]

LANGUAGES: tuple[str, ...] = ("da", "en")
INSTRUMENTS_DIR = Path(__file__).parent / "instruments"
FACE_SCORES: tuple[float, ...] = (0.0, 2.5, 5.0, 7.5, 10.0)

_KINDS = ("outcome", "session", "goal")
_RATERS = ("self", "observer", "any")
_AGE_BANDS = ("0-5", "6-12", "13-17", "18+", "any")
# Only these fields are text; a pack may replace them and nothing else, so it cannot change
# what is asked or how it is scored.
_INSTRUMENT_TEXT_KEYS = frozenset({"title", "intro", "intro_observer", "low", "high"})
_ITEM_TEXT_KEYS = frozenset(
    {
        "question",
        "question_discreet",
        "question_observer",
        "question_observer_discreet",
        "short",
        "short_discreet",
        "low",
        "high",
    }
)
_PACK_KEYS = frozenset({"instrument", "version", "wording", "text", "items"})


class InstrumentError(ValueError):
    """An instrument file or a text pack is malformed (a configuration error, not user input)."""


@dataclass(frozen=True, slots=True)
class Scale:
    """How an item is answered: a number 0-10, or five faces that score 0, 2.5, 5, 7.5, 10."""

    type: ScaleType
    minimum: float = 0.0
    maximum: float = 10.0
    values: tuple[float, ...] = ()  # faces: the score of each face, saddest first
    emoji: tuple[str, ...] = ()  # faces: what a button shows, saddest first


@dataclass(frozen=True, slots=True)
class Item:
    """One question of an instrument; its texts are keyed by language, then field."""

    id: str
    domain: str
    text: Mapping[str, Mapping[str, str]]


@dataclass(frozen=True, slots=True)
class Instrument:
    """A versioned set of items with one scale; the wording may come from a text pack."""

    id: str
    version: str
    kind: Kind
    age_band: str
    rater: str
    scale: Scale
    items: tuple[Item, ...]
    text: Mapping[str, Mapping[str, str]]
    face_labels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    wording: str = "stemme"  # which wording is in force: "stemme" or the pack's name

    def item(self, item_id: str) -> Item:
        """The item with this id (KeyError when the instrument has none)."""
        for item in self.items:
            if item.id == item_id:
                return item
        raise KeyError(f"{self.id} has no item {item_id!r}")

    def item_text(self, language: str, item_id: str, key: str) -> str | None:
        """An item's text, falling back to the instrument's (for the scale's anchors)."""
        found = self.item(item_id).text.get(language, {}).get(key)
        if found is None:
            found = self.text.get(language, {}).get(key)
        return found


def _table(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InstrumentError(f"{where}: expected a table")
    return cast(dict[str, Any], value)


def _string(value: object, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InstrumentError(f"{where}: expected a non-empty string")
    return value


def _texts(raw: object, keys: frozenset[str], where: str) -> dict[str, dict[str, str]]:
    texts: dict[str, dict[str, str]] = {}
    for language, fields in _table(raw, where).items():
        texts[language] = {}
        for key, value in _table(fields, f"{where}.{language}").items():
            if key == "faces":
                continue
            if key not in keys:
                raise InstrumentError(f"{where}.{language}: unknown text field {key!r}")
            texts[language][key] = _string(value, f"{where}.{language}.{key}")
    return texts


def _faces(raw: object, where: str) -> dict[str, tuple[str, ...]]:
    labels: dict[str, tuple[str, ...]] = {}
    for language, fields in _table(raw, where).items():
        faces = _table(fields, f"{where}.{language}").get("faces")
        if faces is None:
            continue
        if not isinstance(faces, list) or len(faces) != len(FACE_SCORES):
            raise InstrumentError(f"{where}.{language}.faces: expected five labels")
        labels[language] = tuple(_string(face, f"{where}.{language}.faces") for face in faces)
    return labels


def _scale(raw: object, where: str) -> Scale:
    table = _table(raw, where)
    kind = table.get("type")
    if kind == "numeric":
        if (table.get("min"), table.get("max")) != (0, 10):
            raise InstrumentError(f"{where}: a numeric scale runs from 0 to 10")
        return Scale("numeric")
    if kind == "faces":
        values = tuple(float(v) for v in table.get("values", ()))
        emoji = tuple(_string(e, f"{where}.emoji") for e in table.get("emoji", ()))
        if values != FACE_SCORES or len(emoji) != len(FACE_SCORES):
            raise InstrumentError(f"{where}: faces score 0, 2.5, 5, 7.5, 10 and need 5 emoji")
        return Scale("faces", values=values, emoji=emoji)
    raise InstrumentError(f"{where}: scale type must be 'numeric' or 'faces'")


def parse_instrument(data: Mapping[str, Any], where: str = "instrument") -> Instrument:
    """Build and check an instrument from the contents of one TOML file."""
    instrument_id = _string(data.get("id"), f"{where}.id")
    kind = data.get("kind")
    if kind not in _KINDS:
        raise InstrumentError(f"{where}.kind: one of {_KINDS}")
    if data.get("rater") not in _RATERS or data.get("age_band") not in _AGE_BANDS:
        raise InstrumentError(f"{where}: rater one of {_RATERS}, age_band one of {_AGE_BANDS}")
    items: list[Item] = []
    for index, raw_item in enumerate(data.get("items", ())):
        item_where = f"{where}.items[{index}]"
        table = _table(raw_item, item_where)
        item = Item(
            id=_string(table.get("id"), f"{item_where}.id"),
            domain=_string(table.get("domain"), f"{item_where}.domain"),
            text=_texts(table.get("text", {}), _ITEM_TEXT_KEYS, f"{item_where}.text"),
        )
        items.append(item)
    if not items or len({item.id for item in items}) != len(items):
        raise InstrumentError(f"{where}: needs items with distinct ids")
    instrument = Instrument(
        id=instrument_id,
        version=_string(str(data.get("version", "")), f"{where}.version"),
        kind=cast(Kind, kind),
        age_band=str(data["age_band"]),
        rater=str(data["rater"]),
        scale=_scale(data.get("scale"), f"{where}.scale"),
        items=tuple(items),
        text=_texts(data.get("text", {}), _INSTRUMENT_TEXT_KEYS, f"{where}.text"),
        face_labels=_faces(data.get("text", {}), f"{where}.text"),
    )
    _check_complete(instrument, where)
    return instrument


def _check_complete(instrument: Instrument, where: str) -> None:
    """Every language must have every text the engine will ask for."""
    for language in LANGUAGES:
        if instrument.scale.type == "faces" and language not in instrument.face_labels:
            raise InstrumentError(f"{where}: faces labels missing for {language}")
        for item in instrument.items:
            for key in ("question", "short"):
                if not item.text.get(language, {}).get(key):
                    raise InstrumentError(f"{where}: {item.id}.{key} missing for {language}")
            if instrument.scale.type == "numeric":
                for anchor in ("low", "high"):
                    if instrument.item_text(language, item.id, anchor) is None:
                        raise InstrumentError(f"{where}: {item.id} has no {anchor} for {language}")


def _merge(
    base: Mapping[str, Mapping[str, str]], extra: Mapping[str, Mapping[str, str]]
) -> dict[str, dict[str, str]]:
    merged = {language: dict(fields) for language, fields in base.items()}
    for language, fields in extra.items():
        merged.setdefault(language, {}).update(fields)
    return merged


def apply_text_pack(
    instruments: Mapping[str, Instrument], data: Mapping[str, Any], where: str = "pack"
) -> dict[str, Instrument]:
    """Overlay one text pack (wording only, by instrument and item id) onto the instruments."""
    instrument_id = _string(data.get("instrument"), f"{where}.instrument")
    extra = set(data) - _PACK_KEYS
    if extra:
        raise InstrumentError(f"{where}: a text pack holds wording only, not {sorted(extra)}")
    if instrument_id not in instruments:
        raise InstrumentError(f"{where}: unknown instrument {instrument_id!r}")
    base = instruments[instrument_id]
    if "version" in data and str(data["version"]) != base.version:
        raise InstrumentError(f"{where}: written for version {data['version']} of {base.id}")
    item_texts = _table(data.get("items", {}), f"{where}.items")
    unknown = set(item_texts) - {item.id for item in base.items}
    if unknown:
        raise InstrumentError(f"{where}: unknown items {sorted(unknown)}")
    items = tuple(
        replace(
            item,
            text=_merge(
                item.text,
                _texts(item_texts.get(item.id, {}), _ITEM_TEXT_KEYS, f"{where}.items.{item.id}"),
            ),
        )
        for item in base.items
    )
    raw_text = data.get("text", {})
    updated = replace(
        base,
        items=items,
        text=_merge(base.text, _texts(raw_text, _INSTRUMENT_TEXT_KEYS, f"{where}.text")),
        face_labels={**base.face_labels, **_faces(raw_text, f"{where}.text")},
        wording=str(data.get("wording", Path(where).stem)),
    )
    _check_complete(updated, where)
    return {**instruments, instrument_id: updated}


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise InstrumentError(f"{path.name}: {error}") from error


def load_instruments_uncached(text_packs_dir: Path | None = None) -> dict[str, Instrument]:
    """Read every shipped instrument, then every `*.toml` pack in `text_packs_dir` (sorted)."""
    instruments: dict[str, Instrument] = {}
    for path in sorted(INSTRUMENTS_DIR.glob("*.toml")):
        instrument = parse_instrument(_read_toml(path), path.name)
        if instrument.id in instruments:
            raise InstrumentError(f"{path.name}: duplicate instrument id {instrument.id!r}")
        instruments[instrument.id] = instrument
    if text_packs_dir is not None:
        if not text_packs_dir.is_dir():
            raise InstrumentError(f"text pack folder {text_packs_dir} does not exist")
        for path in sorted(text_packs_dir.glob("*.toml")):
            instruments = apply_text_pack(instruments, _read_toml(path), path.name)
    return instruments


@lru_cache(maxsize=8)
def load_instruments(text_packs_dir: Path | None = None) -> Mapping[str, Instrument]:
    """The instruments by id, with a text pack folder's wording applied; cached per folder."""
    return load_instruments_uncached(text_packs_dir)
