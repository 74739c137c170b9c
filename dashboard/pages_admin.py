"""Users (admins), API tokens ("my tokens") and the weekly digest preview."""

from __future__ import annotations

import base64
import re
from contextlib import suppress
from email.message import EmailMessage

from aiohttp import web
from sqlmodel import Session, col, select

from casework import passwords as casework_passwords
from casework import users as casework_users
from casework.errors import Invalid
from dashboard import accounts
from dashboard.guard import Viewer, admin_only, dash, not_found, page_handler
from dashboard.i18n import error_key
from dashboard.pages_cases import field
from dashboard.render import page, secure
from reports.casefile import load_case_data
from reports.digest import Caseworker, build_digest
from storage.models import ApiToken, Case, User
from storage.repo.errors import Conflict
from storage.repo.organisation import providers, teams

# The digest is e-mail HTML with inline styles; it is shown in a frame of its own route.
DIGEST_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
              "frame-ancestors 'self'; base-uri 'none'; form-action 'none'")


async def _users_page(request: web.Request, me: Viewer, *, error: str | None = None,
                      created: tuple[str, str] | None = None, status: int = 200,
                      reset: tuple[str, casework_passwords.ResetLink] | None = None
                      ) -> web.Response:
    d = dash(request)

    def load(session: Session) -> list[tuple[User, int]]:
        users = session.exec(select(User).order_by(col(User.email))).all()
        counts = {u.id: 0 for u in users}
        for owner in session.exec(select(Case.caseworker_id).where(Case.status == "open")):
            counts[owner] = counts.get(owner, 0) + 1
        return [(u, counts[u.id]) for u in users]

    rows = await d.run(load)
    orgs = await d.run(lambda s: (teams(s), providers(s)))
    return page(request, "users.html", {"teams": orgs[0], "providers": orgs[1],
        "me": me.user, "csrf": me.csrf, "users": rows, "error": error,
        "created": created, "reset": reset}, zone=d.zone, lang=me.lang, status=status)


@page_handler
@admin_only
async def users(request: web.Request, me: Viewer) -> web.StreamResponse:
    """GET /users: everyone who can sign in (admins only)."""
    return await _users_page(request, me)


@page_handler
@admin_only
async def user_add(request: web.Request, me: Viewer) -> web.StreamResponse:
    """POST /users: a new caseworker or admin."""
    d = dash(request)
    form = await request.post()
    now = d.now()
    try:
        await d.run(lambda s: casework_users.add_user(
            s, actor=me.user.email, email=field(form, "email", 254), role=field(form, "role"),
            password=field(form, "password", 1024), now=now,
            team=field(form, "team", 120) or None, provider=field(form, "provider", 120) or None))
    except Invalid as exc:
        return await _users_page(request, me, error=error_key(exc.code), status=400)
    raise web.HTTPSeeOther(location="/users?done=user_added")


@page_handler
@admin_only
async def user_deactivate(request: web.Request, me: Viewer) -> web.StreamResponse:
    """POST /users/{user_id}/deactivate: ends their sessions and revokes their tokens; their
    cases go to `handover_to` (needed when they own open cases)."""
    d = dash(request)
    form = await request.post()
    now = d.now()
    user_id = request.match_info["user_id"]

    def apply(session: Session) -> bool:
        user = session.get(User, user_id) if len(user_id) <= 32 else None
        if user is None or user.id == me.user.id:  # nobody locks themselves out by a click
            return False
        with suppress(Conflict):  # deactivated already: nothing to do
            casework_users.deactivate_user(session, user, actor=me.user.email,
                                           handover_to=field(form, "handover_to", 254),
                                           now=now)
        return True

    try:
        done = await d.run(apply)
    except Invalid as exc:
        return await _users_page(request, me, error=error_key(exc.code), status=400)
    if not done:
        return not_found(request, me)
    raise web.HTTPSeeOther(location="/users?done=user_deactivated")


@page_handler
@admin_only
async def user_token(request: web.Request, me: Viewer) -> web.StreamResponse:
    """POST /users/{user_id}/tokens: an admin creates an API token for a user."""
    d = dash(request)
    form = await request.post()
    now = d.now()
    user_id = request.match_info["user_id"]

    def make(session: Session) -> tuple[str, str] | None:
        user = session.get(User, user_id) if len(user_id) <= 32 else None
        if user is None or not user.active:
            return None
        _, token = accounts.create_api_token(session, user, name=field(form, "name", 80),
                                             created_by=me.user.email, now=now)
        return user.email, token

    created = await d.run(make)
    if created is None:
        return not_found(request, me)
    return await _users_page(request, me, created=created)


@page_handler
@admin_only
async def user_reset_link(request: web.Request, me: Viewer) -> web.StreamResponse:
    """POST /users/{user_id}/reset: a one-time link (24 h) for the user to set a new password,
    shown once."""
    d = dash(request)
    now = d.now()
    user_id = request.match_info["user_id"]

    def make(session: Session) -> tuple[str, casework_passwords.ResetLink] | None:
        user = session.get(User, user_id) if len(user_id) <= 32 else None
        if user is None or not user.active:
            return None
        return user.email, casework_passwords.make_reset_link(
            session, user, actor=me.user.email, public_url=d.settings.public_url, now=now)

    made = await d.run(make)
    if made is None:
        return not_found(request, me)
    return await _users_page(request, me, reset=made)


@page_handler
@admin_only
async def user_reactivate(request: web.Request, me: Viewer) -> web.StreamResponse:
    """POST /users/{user_id}/reactivate: a deactivated user may sign in again (their old
    sessions and tokens stay ended)."""
    d = dash(request)
    now = d.now()
    user_id = request.match_info["user_id"]

    def apply(session: Session) -> bool:
        user = session.get(User, user_id) if len(user_id) <= 32 else None
        if user is None:
            return False
        with suppress(Conflict):  # active already: nothing to do
            casework_users.reactivate_user(session, user, actor=me.user.email, now=now)
        return True

    if not await d.run(apply):
        return not_found(request, me)
    raise web.HTTPSeeOther(location="/users?done=user_reactivated")


async def _tokens_page(request: web.Request, me: Viewer, *, token: str | None = None
                       ) -> web.Response:
    d = dash(request)
    rows: list[ApiToken] = await d.run(lambda s: accounts.tokens_of(s, me.user.id))
    return page(request, "tokens.html", {"me": me.user, "csrf": me.csrf, "tokens": rows,
                                         "token": token}, zone=d.zone, lang=me.lang)


@page_handler
async def tokens(request: web.Request, me: Viewer) -> web.StreamResponse:
    """GET /tokens: my API tokens."""
    return await _tokens_page(request, me)


@page_handler
async def token_create(request: web.Request, me: Viewer) -> web.StreamResponse:
    """POST /tokens: a new token for me, shown once."""
    d = dash(request)
    form = await request.post()
    now = d.now()
    _, token = await d.run(lambda s: accounts.create_api_token(
        s, me.user, name=field(form, "name", 80), created_by=me.user.email, now=now))
    return await _tokens_page(request, me, token=token)


@page_handler
async def token_revoke(request: web.Request, me: Viewer) -> web.StreamResponse:
    """POST /tokens/{token_id}/revoke."""
    d = dash(request)
    now = d.now()
    token_id = request.match_info["token_id"]
    if not await d.run(lambda s: accounts.revoke_api_token(s, token_id, owner=me.user,
                                                           actor=me.user, now=now)):
        return not_found(request, me)
    raise web.HTTPSeeOther(location="/tokens?done=token_revoked")


def digest_html(message: EmailMessage) -> str:
    """The digest's HTML part with its inline images turned into data: URIs for a browser."""
    html_part = next(p for p in message.walk() if p.get_content_type() == "text/html")
    html = str(html_part.get_content())
    for part in message.walk():
        cid = str(part.get("Content-ID", "")).strip("<>")
        payload = part.get_payload(decode=True)
        if cid and part.get_content_type() == "image/png" and isinstance(payload, bytes):
            data = base64.b64encode(payload).decode("ascii")
            html = html.replace(f"cid:{cid}", f"data:image/png;base64,{data}")
    # Links open nothing inside the frame: the preview is for reading.
    return re.sub(r'href="[^"]*"', 'href="#"', html)


@page_handler
async def digest(request: web.Request, me: Viewer) -> web.StreamResponse:
    """GET /digest: this week's digest as it will be e-mailed."""
    d = dash(request)
    return page(request, "digest.html", {"me": me.user, "csrf": me.csrf}, zone=d.zone,
                lang=me.lang)


@page_handler
async def digest_mail(request: web.Request, me: Viewer) -> web.StreamResponse:
    """GET /digest/mail: the digest e-mail's HTML, built as the weekly job builds it."""
    d = dash(request)
    now = d.now()

    def build(session: Session) -> str:
        query = select(Case.id).where(Case.status == "open")
        if me.user.role != "admin":
            query = query.where(Case.caseworker_id == me.user.id)
        cases = [load_case_data(session, d.vault, cid, now=now, comments=False)
                 for cid in session.exec(query).all()]
        message = build_digest(Caseworker(me.user.email, me.lang), cases, now=now,
                               public_url=d.settings.public_url,
                               sender=d.settings.mail_sender, lang=me.lang, rules=d.rules)
        return digest_html(message)

    html = await d.run(build)
    response = web.Response(text=html, content_type="text/html")
    response = secure(response, csp=DIGEST_CSP)
    response.headers.popall("X-Frame-Options", None)  # framed by /digest only
    return response
