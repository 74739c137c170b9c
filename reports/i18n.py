"""Danish and English texts of the reports from gettext catalogues, and the why-lines."""

from __future__ import annotations

import gettext
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from babel.numbers import format_decimal

from reports.alerts import (
    MISSING_RATINGS,
    NOT_ON_TRACK,
    RATER_DIVERGENCE,
    RELIABLE_WORSENING,
    SAFETY,
    SESSION_DROP,
    SESSION_LOW,
    CaseStatus,
)
from reports.model import CHILD, Alert, Rater

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "reports"
LANGUAGES = ("da", "en")
DEFAULT_LANGUAGE = "da"


def _noop(message: str) -> str:
    # Marks a msgid for extraction where the text is looked up later.
    return message


N_ = _noop

ROLE_NAMES = {
    "child": N_("Child"),
    "parent": N_("Parent"),
    "foster_parent": N_("Foster parent"),
    "teacher": N_("Teacher"),
    "pedagogue": N_("Pedagogue"),
    "other": N_("Other adult"),
}


@lru_cache(maxsize=8)
def translations(lang: str) -> gettext.NullTranslations:
    """The catalogue of a language; an unknown language falls back to the English msgids."""
    if lang not in LANGUAGES:
        lang = "en"
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[lang], fallback=True)


@dataclass(frozen=True, slots=True)
class Texts:
    """gettext and ngettext bound to one language, passed around instead of a global."""

    lang: str
    gettext: Callable[[str], str]
    ngettext: Callable[[str, str, int], str]

    def __call__(self, message: str, **values: object) -> str:
        """The translated message with %(name)s placeholders filled in."""
        text = self.gettext(message)
        return text % values if values else text

    def num(self, value: float | None, signed: bool = False) -> str:
        """A score as the reader writes it: "35,5" in Danish, "35.5" in English; "+6" signed."""
        if value is None:
            return ""
        text = _decimal(abs(value) if signed else value, self.lang)
        if signed:
            return ("+" if value > 0 else "-" if value < 0 else "") + text
        return text


@lru_cache(maxsize=4096)
def _decimal(value: float, lang: str) -> str:
    return str(format_decimal(round(value, 1), format="0.#", locale=lang))


def texts(lang: str = DEFAULT_LANGUAGE) -> Texts:
    """Texts for a language ("da" or "en")."""
    t = translations(lang)
    return Texts(lang if lang in LANGUAGES else "en", t.gettext, t.ngettext)


def rater_labels(raters: Iterable[Rater], t: Texts) -> dict[str, str]:
    """Name-free labels per participant: "Barn", "Forælder 1", "Forælder 2", "Lærer"."""
    raters = list(raters)
    counts: dict[str, int] = {}
    for r in raters:
        counts[r.role] = counts.get(r.role, 0) + 1
    seen: dict[str, int] = {}
    labels = {}
    for r in raters:
        name = t(ROLE_NAMES.get(r.role, ROLE_NAMES["other"]))
        seen[r.role] = seen.get(r.role, 0) + 1
        labels[r.participant_id] = f"{name} {seen[r.role]}" if counts[r.role] > 1 else name
    return labels


def _who(alert: Alert, labels: dict[str, str], t: Texts) -> str:
    if alert.participant_id and alert.participant_id in labels:
        return labels[alert.participant_id]
    return t(ROLE_NAMES.get(alert.rater_role or "other", ROLE_NAMES["other"]))


def alert_line(alert: Alert, labels: dict[str, str], t: Texts) -> str:
    """One line saying why an alert was raised, in the reader's language, without free text."""
    who = _who(alert, labels, t)
    v, lim = alert.value, alert.threshold
    if alert.rule == SAFETY:
        hours = int(lim or 24)
        return t("A message needs your assessment within %(hours)d hours", hours=hours)
    if alert.rule == NOT_ON_TRACK:
        return t(
            "%(who)s: no reliable improvement after %(n)s ratings (%(change)s, needs +%(rc)s)",
            who=who,
            n=t.num(float(alert.extra.get("number", 0))),
            change=t.num(v, signed=True) or "0",
            rc=t.num(lim),
        )
    if alert.rule == RELIABLE_WORSENING:
        return t(
            "%(who)s: reliably worse than at the start (%(change)s)",
            who=who,
            change=t.num(v, signed=True) or "0",
        )
    if alert.rule == SESSION_LOW:
        return t(
            "%(who)s: session rated %(total)s (below %(limit)s)",
            who=who,
            total=t.num(v),
            limit=t.num(lim),
        )
    if alert.rule == SESSION_DROP:
        return t(
            "%(who)s: session rating fell from %(prev)s to %(total)s",
            who=who,
            prev=t.num(lim),
            total=t.num(v),
        )
    if alert.rule == RATER_DIVERGENCE:
        return t(
            "%(child)s and %(who)s are %(diff)s points apart",
            child=t(ROLE_NAMES[CHILD]),
            who=who,
            diff=t.num(v),
        )
    if alert.rule == MISSING_RATINGS:
        return t("%(who)s has not answered %(n)s times in a row", who=who, n=t.num(v))
    return alert.rule


def status_line(status: CaseStatus, labels: dict[str, str], t: Texts) -> str:
    """The one-line why of a case in the digest."""
    if status.reasons:
        return alert_line(status.reasons[0], labels, t)
    point = status.child_latest
    if point is None:
        return t("No ratings from the child yet")
    return t(
        "On track: the child rates %(total)s (%(change)s since the start)",
        total=t.num(point.total),
        change=t.num(point.change, signed=True) or "0",
    )


def urgency_name(urgency: int, t: Texts) -> str:
    """The heading of an urgency group."""
    names = (
        N_("Safety concern"),
        N_("Not on track"),
        N_("Session (alliance)"),
        N_("Raters disagree"),
        N_("Missing ratings"),
        N_("On track"),
    )
    return t(names[urgency])


def compile_catalogue(po_path: Path, lang: str) -> bytes:
    """A .po catalogue compiled to .mo bytes with Babel (as `pybabel compile` does)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po_path.open("rb") as fh:
        catalog = read_po(fh, locale=lang, domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    return buf.getvalue()


def po_path(lang: str) -> Path:
    """Where a language's .po catalogue lives."""
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def compile_all() -> list[Path]:
    """Compile every language's .po next to it as .mo; returns the .mo paths."""
    written = []
    for lang in LANGUAGES:
        target = po_path(lang).with_suffix(".mo")
        target.write_bytes(compile_catalogue(po_path(lang), lang))
        written.append(target)
    translations.cache_clear()
    return written


if __name__ == "__main__":
    for path in compile_all():
        print(path)
