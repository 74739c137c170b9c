"""Jinja2 rendering for the dashboard: catalogue texts, local times, and safe response headers."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from aiohttp import web
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from dashboard.i18n import catalogue, language_or_default, t
from storage import http_headers

TEMPLATES = Path(__file__).with_name("templates")
LANG_COOKIE = "stemme_lang"
R = TypeVar("R", bound=web.StreamResponse)
# No scripts at all; styles and images from here (data: for QR codes and previews); forms post
# only here; the page cannot be framed. The digest preview (own route) relaxes style-src.
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
       "frame-src 'self'; frame-ancestors 'none'; base-uri 'none'")


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The template environment (shared; texts are passed per render)."""
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def language(request: web.Request) -> str:
    """The reader's language: `?lang=`, then the cookie, then Danish."""
    return language_or_default(request.query.get("lang") or request.cookies.get(LANG_COOKIE))


class Formats:
    """Local dates, times and numbers in the reader's language."""

    def __init__(self, lang: str, zone: ZoneInfo) -> None:
        self.lang, self.zone = lang, zone

    def when(self, at: datetime | None) -> str:
        """A moment as a local date and time, e.g. "3. dec. 2026 15.00"."""
        if at is None:
            return "–"
        return str(format_datetime(at.astimezone(self.zone), "d. MMM y HH:mm"
                                   if self.lang == "da" else "d MMM y, HH:mm", locale=self.lang))

    def day(self, at: datetime | date | None) -> str:
        """A local day, e.g. "3. dec. 2026"."""
        if at is None:
            return "–"
        day = at.astimezone(self.zone).date() if isinstance(at, datetime) else at
        return str(format_date(day, "d. MMM y" if self.lang == "da" else "d MMM y",
                               locale=self.lang))

    def num(self, value: float | None) -> str:
        """A score as the reader writes it ("35,5" in Danish)."""
        if value is None:
            return "–"
        return str(format_decimal(round(value, 1), format="0.#", locale=self.lang))


def page(request: web.Request, template: str, context: Mapping[str, Any], *, zone: ZoneInfo,
         status: int = 200, lang: str | None = None) -> web.Response:
    """Render a page with the texts of the reader's language and the security headers."""
    lang = lang or language(request)
    fmt = Formats(lang, zone)
    values: dict[str, Any] = {
        "lang": lang, "other_lang": "en" if lang == "da" else "da",
        "_": lambda key, **kw: t(key, lang, **kw), "when": fmt.when, "day": fmt.day,
        "num": fmt.num, "path": request.path, "me": None, "csrf": "", "notice": None,
    }
    values.update(context)
    notice = request.query.get("done")
    if notice and values["notice"] is None and f"done.{notice}" in catalogue(lang):
        values["notice"] = t(f"done.{notice}", lang)
    html = environment().get_template(template).render(values)
    response = web.Response(text=html, content_type="text/html", status=status)
    return secure(response, lang_cookie=lang if "lang" in request.query else None)


def secure(response: R, *, csp: str = CSP, lang_cookie: str | None = None) -> R:
    """Headers every dashboard response carries: no caching of case data, no framing."""
    http_headers.strict(response.headers, csp=csp)
    if lang_cookie:
        response.set_cookie(LANG_COOKIE, lang_cookie, max_age=365 * 86400, path="/",
                            httponly=True, samesite="Strict")
    return response
