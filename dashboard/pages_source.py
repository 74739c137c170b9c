"""GET /source: where to get Stemme's source code (AGPL-3.0-or-later §13), for everyone."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from aiohttp import web

from dashboard.guard import dash
from dashboard.render import page, secure

LICENCE_URL = "https://www.gnu.org/licenses/agpl-3.0.html"


def _version() -> str:
    try:
        return version("stemme")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return ""


async def source(request: web.Request) -> web.StreamResponse:
    """To STEMME_SOURCE_URL when the operator set one; else a page naming the licence.

    No sign-in: a child on the web chat is a user of this service as much as a caseworker.
    """
    d = dash(request)
    url = getattr(d.settings, "source_url", None)
    if url:
        raise secure(web.HTTPFound(url))
    return page(request, "source.html", {"version": _version(), "licence_url": LICENCE_URL},
                zone=d.zone)
