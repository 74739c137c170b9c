"""My password: changing it while signed in, and setting one with an admin's one-time link."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlmodel import Session

from casework import passwords
from casework.errors import Invalid
from casework.tokens import digest
from dashboard import accounts
from dashboard.guard import CSRF_FIELD, Viewer, dash, forbidden, page_handler
from dashboard.i18n import error_key
from dashboard.render import page
from storage.models import LoginAttempt

PASSWORD_LIMIT = 1024  # as at sign-in; a password is taken as typed, spaces and all


def _secret(form: Any, name: str) -> str:
    value = form.get(name, "")
    return value[:PASSWORD_LIMIT] if isinstance(value, str) else ""


def _change_key(user_id: str) -> str:
    """The key wrong current passwords on the change form are counted under: only someone
    holding one of the user's sessions can add to it, so it locks nobody out from outside."""
    return digest("password-change:" + user_id)


def _password_page(request: web.Request, me: Viewer, *, error: str | None = None,
                   status: int = 200) -> web.Response:
    return page(request, "account_password.html", {"me": me.user, "csrf": me.csrf,
                                                   "error": error},
                zone=dash(request).zone, lang=me.lang, status=status)


@page_handler
async def password_get(request: web.Request, me: Viewer) -> web.StreamResponse:
    """GET /account/password: the form to change my password."""
    return _password_page(request, me)


@page_handler
async def password_post(request: web.Request, me: Viewer) -> web.StreamResponse:
    """POST /account/password: check the current password, set the new one, end my other
    sessions. Wrong current passwords make the next try wait, as at sign-in."""
    d = dash(request)
    form = await request.post()
    now = d.now()
    key = _change_key(me.user.id)

    def change(session: Session) -> str | None:
        if accounts.failure_wait(session, key, now):
            return "throttled"
        try:
            passwords.change_password(
                session, me.user, current=_secret(form, "current"), new=_secret(form, "new"),
                repeat=_secret(form, "repeat"), keep_session=me.token, now=now)
        except Invalid as exc:  # raised before anything is written
            if exc.code == "current_password":
                session.add(LoginAttempt(account_key=key, at=now, outcome="failed"))
            return exc.code
        return None

    refused = await d.run(change)
    if refused is not None:
        return _password_page(request, me, error=error_key(refused),
                              status=429 if refused == "throttled" else 400)
    raise web.HTTPSeeOther(location="/account/password?done=password_changed")


def _bad_link(request: web.Request) -> web.Response:
    """The one answer for a link that is wrong, used, replaced or expired."""
    return page(request, "error.html", {"title_key": "account.reset_bad_title",
                                         "text_key": "account.reset_bad"},
                zone=dash(request).zone, status=404)


def _reset_page(request: web.Request, token: str, email: str, *, error: str | None = None,
                status: int = 200) -> web.Response:
    # The form's CSRF token is derived from the link's own secret, like a session's.
    return page(request, "reset.html", {"csrf": accounts.csrf_token(token), "email": email,
                                        "error": error, "action": request.path},
                zone=dash(request).zone, status=status)


async def reset_get(request: web.Request) -> web.StreamResponse:
    """GET /account/reset/{token}: the form to set a new password, if the link still works."""
    d = dash(request)
    token = request.match_info["token"]
    now = d.now()
    user = await d.run(lambda s: passwords.reset_link_user(s, token, now=now))
    if user is None:
        return _bad_link(request)
    return _reset_page(request, token, user.email)


async def reset_post(request: web.Request) -> web.StreamResponse:
    """POST /account/reset/{token}: set the new password; the link is then used up and every
    session of the user ends."""
    d = dash(request)
    token = request.match_info["token"]
    form = await request.post()
    given = form.get(CSRF_FIELD)
    if not accounts.csrf_matches(accounts.csrf_token(token),
                                 given if isinstance(given, str) else None):
        return forbidden(request, d)
    now = d.now()

    def reset(session: Session) -> tuple[str | None, str]:
        try:
            passwords.reset_password(session, token, new=_secret(form, "new"),
                                     repeat=_secret(form, "repeat"), now=now)
        except Invalid as exc:
            user = passwords.reset_link_user(session, token, now=now)
            return exc.code, user.email if user else ""
        return None, ""

    refused, email = await d.run(reset)
    if refused == "reset_link":
        return _bad_link(request)
    if refused is not None:
        return _reset_page(request, token, email, error=error_key(refused), status=400)
    raise web.HTTPSeeOther(location="/login?done=password_reset")
