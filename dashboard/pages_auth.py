"""Signing in and out, and the stylesheet (the only things served without a session)."""

from __future__ import annotations

import secrets
from pathlib import Path

from aiohttp import web

from dashboard import accounts
from dashboard.guard import (
    CSRF_FIELD,
    PRE_COOKIE,
    Viewer,
    clear_session_cookie,
    dash,
    forbidden,
    local_path,
    page_handler,
    request_client,
    set_session_cookie,
)
from dashboard.render import page, secure

CSS = (Path(__file__).with_name("assets") / "dashboard.css").read_bytes()


async def stylesheet(request: web.Request) -> web.Response:
    """GET /assets/dashboard.css."""
    response = web.Response(body=CSS, content_type="text/css", charset="utf-8")
    response.headers["Cache-Control"] = "public, max-age=3600"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _login_page(request: web.Request, *, error: str | None = None, status: int = 200,
                email: str = "", next_: str | None = None) -> web.Response:
    d = dash(request)
    pre = request.cookies.get(PRE_COOKIE) or secrets.token_urlsafe(24)
    response = page(request, "login.html", {
        "csrf": pre, "error": error, "email": email,
        "next": local_path(next_ or request.query.get("next"))}, zone=d.zone, status=status)
    response.set_cookie(PRE_COOKIE, pre, path="/login", httponly=True, samesite="Strict",
                        secure=d.secure_cookies)
    return response


async def login_get(request: web.Request) -> web.StreamResponse:
    """GET /login: the sign-in form."""
    return _login_page(request)


async def login_post(request: web.Request) -> web.StreamResponse:
    """POST /login: check the password within the sign-in limits, then open a session."""
    d = dash(request)
    form = await request.post()
    pre = request.cookies.get(PRE_COOKIE, "")
    given = form.get(CSRF_FIELD)
    if not pre or not accounts.csrf_matches(pre, given if isinstance(given, str) else None):
        return forbidden(request, d)
    email = str(form.get("email", ""))[:254]
    password = str(form.get("password", ""))[:1024]
    now = d.now()
    # The setting is read by name: SettingsLike (dashboard/state.py) does not list it yet.
    proxies = d.settings.trusted_proxies
    client = accounts.client_key(d.vault.ring.derive("sign-in clients"),
                                 request_client(request, proxies))
    result = await d.run(lambda s: accounts.sign_in(
        s, email, password, client=client, now=now, lifetime=d.absolute_timeout))
    if result.outcome in ("refused", "throttled"):
        response = _login_page(request, error=f"error.{result.outcome}", status=429,
                               email=email, next_=str(form.get("next", "")))
        response.headers["Retry-After"] = str(result.retry_after)
        return response
    if result.outcome != "ok" or result.token is None:
        return _login_page(request, error="error.sign_in", status=401, email=email,
                           next_=str(form.get("next", "")))
    target = local_path(str(form.get("next", "/")))
    response = web.HTTPSeeOther(location=target)
    set_session_cookie(response, d, result.token)
    response.del_cookie(PRE_COOKIE, path="/login")
    raise response


@page_handler
async def logout(request: web.Request, me: Viewer) -> web.StreamResponse:
    """POST /logout: end the session server-side, then forget the cookie."""
    d = dash(request)
    now = d.now()
    await d.run(lambda s: accounts.end_session(s, me.token, now=now))
    response = web.HTTPSeeOther(location="/login?done=signed_out")
    clear_session_cookie(response, d)
    raise response


async def language_switch(request: web.Request) -> web.StreamResponse:
    """GET /language?to=en&next=/...: remember the reader's language and go back."""
    lang = request.query.get("to", "")
    target = local_path(request.query.get("next"))
    response = web.HTTPSeeOther(location=target)
    if lang in ("da", "en"):
        secure(response, lang_cookie=lang)
    raise response


