"""Who is asking: the session cookie and CSRF check of pages, the bearer token of the API.

Every dashboard handler is wrapped by `page` or `api`, so no route can forget the check; case
access (own cases, or all for admins) is then checked per case in the handlers.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import unicodedata
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import structlog
from aiohttp import web

from dashboard import accounts
from dashboard.render import language, page, secure
from dashboard.state import DASHBOARD, Dashboard
from storage.models import User

log = structlog.get_logger("stemme.dashboard")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
SESSION_COOKIE = "stemme_session"
PRE_COOKIE = "stemme_pre"  # the signed-out CSRF token of the sign-in form (double submit)
CSRF_FIELD = "_csrf"


@dataclass(frozen=True, slots=True)
class Viewer:
    """The signed-in user of a page request."""

    user: User
    token: str
    csrf: str
    lang: str


PageHandler = Callable[[web.Request, Viewer], Awaitable[web.StreamResponse]]
ApiHandler = Callable[[web.Request, User], Awaitable[web.StreamResponse]]


def dash(request: web.Request) -> Dashboard:
    """The dashboard state of the app serving this request."""
    return request.app[DASHBOARD]


def set_session_cookie(response: web.StreamResponse, d: Dashboard, token: str) -> None:
    """The session cookie: HttpOnly, SameSite=Strict, Secure behind https."""
    response.set_cookie(SESSION_COOKIE, token, path="/", httponly=True, samesite="Strict",
                        secure=d.secure_cookies, max_age=int(d.absolute_timeout.total_seconds()))


def clear_session_cookie(response: web.StreamResponse, d: Dashboard) -> None:
    """Forget the session cookie in the browser (the session itself ends server-side)."""
    response.del_cookie(SESSION_COOKIE, path="/", secure=d.secure_cookies, httponly=True,
                        samesite="Strict")


def forbidden(request: web.Request, d: Dashboard) -> web.Response:
    """403 for a form without a valid CSRF token; nothing was changed."""
    return page(request, "error.html", {"title_key": "error.forbidden_title",
                                         "text_key": "error.csrf"}, zone=d.zone, status=403)


def not_found(request: web.Request, viewer: Viewer | None = None) -> web.Response:
    """404 for what does not exist or is not the viewer's: both look the same."""
    context: dict[str, Any] = {"title_key": "error.not_found_title",
                               "text_key": "error.not_found"}
    if viewer is not None:
        context.update(me=viewer.user, csrf=viewer.csrf)
    return page(request, "error.html", context, zone=dash(request).zone, status=404,
                lang=viewer.lang if viewer else None)


def _leaves_site(text: str) -> bool:
    # Browsers drop tabs and newlines inside URLs (so does yarl, building the Location) and
    # read "\\" as "/", so "/\t/x", "/\\x" and "//x" all name another host; any control
    # character is refused outright, and "." segments, which "/..//x" would resolve away.
    path = text.split("?", 1)[0].split("#", 1)[0]
    return (not text.startswith("/") or "//" in path or "\\" in text
            or any(segment in (".", "..") for segment in path.split("/"))
            or any(unicodedata.category(c).startswith("C") for c in text)
            or bool(urlsplit(text).scheme or urlsplit(text).netloc))


def local_path(target: str | None) -> str:
    """Where a `next=` may send the reader: a path on this site, else the case list.

    Checked as given and after each round of percent-decoding, so "/%09/evil.example" and
    "/%2F/evil.example" are refused like "/\t/evil.example" and "//evil.example".
    """
    text = target or ""
    if not text or len(text) > 2000:
        return "/"
    seen = text
    for _ in range(4):  # deeper than any browser decodes
        if _leaves_site(seen):
            return "/"
        try:
            decoded = unquote(seen, errors="strict")
        except UnicodeDecodeError:
            return "/"  # bytes that are no text: not a path of ours
        if decoded == seen:
            return text
        seen = decoded
    return "/"


@functools.lru_cache(maxsize=8)
def trusted_networks(setting: str) -> tuple[Network, ...]:
    """STEMME_TRUSTED_PROXIES (comma-separated IPs and CIDRs) as networks.

    An entry that is not an address is skipped with a warning: it trusts nothing, so a typo
    never lets a client choose its own address.
    """
    networks = []
    for entry in filter(None, (part.strip() for part in setting.split(","))):
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            log.warning("trusted_proxy_ignored", entry=entry[:60])
    return tuple(networks)


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    for candidate in (text, text.rsplit(":", 1)[0].strip("[]") if ":" in text else ""):
        try:
            ip = ipaddress.ip_address(candidate) if candidate else None
        except ValueError:
            continue
        # A dual-stack socket names an IPv4 peer as ::ffff:a.b.c.d.
        mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
        return mapped or ip
    return None


def client_address(peer: str | None, forwarded_for: Sequence[str],
                   trusted: Sequence[Network]) -> str:
    """The address a request came from: the peer, or X-Forwarded-For's when the peer is trusted.

    X-Forwarded-For is read from the right, past the trusted proxies: the first hop no trusted
    proxy vouches for is the client, as anything further left is the client's own claim.
    """
    peer_ip = _ip(peer or "")
    if peer_ip is None:
        return peer or "unknown"
    address = peer_ip
    hops = [hop for header in forwarded_for for hop in header.split(",")]
    while any(address in net for net in trusted) and hops:
        hop = _ip(hops.pop())
        if hop is None:
            break  # unreadable: the proxy in front of it is the last one we can name
        address = hop
    return str(address)


def request_client(request: web.Request, proxies: str) -> str:
    """The client address of a request, with STEMME_TRUSTED_PROXIES as `proxies`."""
    return client_address(request.remote, request.headers.getall("X-Forwarded-For", []),
                          trusted_networks(proxies))


def login_redirect(request: web.Request) -> web.HTTPSeeOther:
    """Send a signed-out reader to the sign-in page, remembering where they were going."""
    target = request.path_qs if request.method == "GET" else "/"
    return web.HTTPSeeOther(location=f"/login?next={quote(local_path(target), safe='/')}")


def page_handler(handler: PageHandler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Require a live web session; on POST also the session's CSRF token."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        d = dash(request)
        token = request.cookies.get(SESSION_COOKIE, "")
        now = d.now()
        found = await d.run(lambda s: accounts.resolve_session(
            s, token, now=now, idle=d.idle_timeout)) if token else None
        if found is None:
            redirect = login_redirect(request)
            if token:
                clear_session_cookie(redirect, d)
            raise redirect
        user, _ = found
        viewer = Viewer(user, token, accounts.csrf_token(token), language(request))
        if request.method not in ("GET", "HEAD"):
            form = await request.post()
            given = form.get(CSRF_FIELD)
            if not accounts.csrf_matches(viewer.csrf, given if isinstance(given, str) else None):
                return forbidden(request, d)
        response = await handler(request, viewer)
        if "Content-Security-Policy" in response.headers:  # a rendered page, already secured
            return response
        return secure(response)

    return wrapped


def admin_only(handler: PageHandler) -> PageHandler:
    """Pages for admins; others get the same 404 as for anything they may not see."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request, viewer: Viewer) -> web.StreamResponse:
        if viewer.user.role != "admin":
            return not_found(request, viewer)
        return await handler(request, viewer)

    return wrapped


def json_error(status: int, code: str, message: str, **extra: Any) -> web.Response:
    """An API error as JSON: a stable code and a clear message."""
    body = {"error": code, "message": message, **extra}
    response = web.json_response(body, status=status, dumps=lambda o: json.dumps(o))
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="stemme"'
    return secure(response, csp="default-src 'none'; frame-ancestors 'none'")


def api_handler(handler: ApiHandler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Require a valid bearer token (`Authorization: Bearer stm_...`)."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        d = dash(request)
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        token = token.strip()
        now = d.now()
        user = await d.run(lambda s: accounts.resolve_api_token(s, token, now=now)) \
            if scheme.lower() == "bearer" and token else None
        if user is None:
            return json_error(401, "unauthorized", "a valid bearer token is required: "
                              "send 'Authorization: Bearer <token>' (create one on /tokens)")
        response = await handler(request, user)
        return secure(response, csp="default-src 'none'; frame-ancestors 'none'")

    return wrapped
