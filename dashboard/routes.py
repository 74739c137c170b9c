"""Every dashboard and API route, registered on the process's aiohttp application."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime

from aiohttp import web

from casework.asking import Starter
from dashboard import (
    api,
    api_alerts,
    api_lifecycle,
    api_messages,
    pages_account,
    pages_admin,
    pages_alerts,
    pages_auth,
    pages_cases,
    pages_people,
    pages_rules,
    pages_source,
)
from dashboard.guard import json_error
from dashboard.openapi import document
from dashboard.state import DASHBOARD, Dashboard, RuntimeLike

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
CASE = "/cases/{case_id}"
PERSON = CASE + "/participants/{participant_id}"
API = "/api/v1"


async def openapi_json(request: web.Request) -> web.Response:
    """GET /api/v1/openapi.json (no token needed: the document holds no data)."""
    return web.json_response(document("/"))


def _methods(handlers: Mapping[str, Handler]) -> Handler:
    """One handler per path that answers unknown methods with a JSON 405."""

    async def dispatch(request: web.Request) -> web.StreamResponse:
        handler = handlers.get(request.method) or (
            handlers.get("GET") if request.method == "HEAD" else None)
        if handler is None:
            response = json_error(405, "method_not_allowed",
                                  f"{request.method} is not allowed here")
            response.headers["Allow"] = ", ".join(sorted(handlers))
            return response
        return await handler(request)

    return dispatch


async def api_unknown(request: web.Request) -> web.StreamResponse:
    """Anything else under /api/v1/: a JSON 404, not an HTML page."""
    return json_error(404, "not_found", "no such API route; see /api/v1/openapi.json")


def _api_routes(app: web.Application) -> None:
    table: dict[str, dict[str, Handler]] = {
        "/me": {"GET": api.me},
        "/cases": {"GET": api.list_cases, "POST": api.create_case},
        "/cases/{case_id}": {"GET": api.get_case, "PATCH": api.patch_case},
        "/cases/{case_id}/close": {"POST": api_lifecycle.close_case},
        "/cases/{case_id}/reopen": {"POST": api_lifecycle.reopen_case},
        "/cases/{case_id}/handover": {"POST": api_lifecycle.hand_over},
        "/cases/{case_id}/participants": {"GET": api.list_participants,
                                          "POST": api.add_participant},
        "/cases/{case_id}/participants/{participant_id}": {"PATCH": api.patch_participant},
        "/cases/{case_id}/participants/{participant_id}/withdraw": {"POST": api.withdraw},
        "/cases/{case_id}/participants/{participant_id}/invite": {"POST": api.invite},
        "/cases/{case_id}/participants/{participant_id}/ask": {"POST": api.ask},
        "/cases/{case_id}/sessions": {"GET": api.list_sessions, "POST": api.add_sessions},
        "/cases/{case_id}/sessions/{session_id}/cancel": {"POST": api.cancel_session},
        "/cases/{case_id}/ratings": {"GET": api.ratings},
        "/cases/{case_id}/alerts": {"GET": api_alerts.list_alerts},
        "/cases/{case_id}/alerts/{alert_id}/ack": {"POST": api_alerts.ack_alert},
        "/cases/{case_id}/messages": {"GET": api_messages.messages},
        "/cases/{case_id}/export/{format}": {"GET": api.export},
    }
    app.router.add_get(f"{API}/openapi.json", openapi_json)
    for path, handlers in table.items():
        app.router.add_route("*", API + path, _methods(handlers))
    app.router.add_route("*", API + "/{tail:.*}", api_unknown)


def _page_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/assets/dashboard.css", pages_auth.stylesheet)
    r.add_get("/login", pages_auth.login_get)
    r.add_post("/login", pages_auth.login_post)
    r.add_post("/logout", pages_auth.logout)
    r.add_get("/language", pages_auth.language_switch)
    r.add_get("/", pages_cases.case_list)
    r.add_get("/cases/new", pages_cases.case_new)
    r.add_post("/cases", pages_cases.case_create)
    r.add_get(CASE, pages_cases.case_page)
    r.add_get(CASE + "/graph.{fmt:png|svg}", pages_cases.case_graph)
    r.add_get(CASE + "/export.{fmt:pdf|csv|png}", pages_cases.case_export)
    r.add_post(CASE + "/goals", pages_cases.case_goals)
    r.add_post(CASE + "/cadence", pages_cases.case_cadence)
    r.add_post(CASE + "/close", pages_cases.case_close)
    r.add_post(CASE + "/reopen", pages_cases.case_reopen)
    r.add_post(CASE + "/handover", pages_cases.case_handover)
    r.add_post(CASE + "/provider", pages_cases.case_provider)
    r.add_post(CASE + "/sessions", pages_cases.session_add)
    r.add_post(CASE + "/sessions/{session_id}/cancel", pages_cases.session_cancel)
    r.add_post(CASE + "/alerts/{alert_id}/ack", pages_alerts.alert_ack)
    r.add_post(CASE + "/participants", pages_people.participant_add)
    r.add_post(PERSON + "/invite", pages_people.participant_invite)
    r.add_post(PERSON + "/guardian", pages_people.participant_guardian)
    r.add_post(PERSON + "/withdraw", pages_people.participant_withdraw)
    r.add_post(PERSON + "/ask", pages_people.participant_ask)
    r.add_post(PERSON + "/settings", pages_people.participant_settings)
    r.add_get("/digest", pages_admin.digest)
    r.add_get("/digest/mail", pages_admin.digest_mail)
    r.add_get("/users", pages_admin.users)
    r.add_get("/rules", pages_rules.rules)
    r.add_get("/source", pages_source.source)
    r.add_post("/users", pages_admin.user_add)
    r.add_post("/users/{user_id}/deactivate", pages_admin.user_deactivate)
    r.add_post("/users/{user_id}/tokens", pages_admin.user_token)
    r.add_post("/users/{user_id}/reset", pages_admin.user_reset_link)
    r.add_post("/users/{user_id}/reactivate", pages_admin.user_reactivate)
    r.add_get("/account/password", pages_account.password_get)
    r.add_post("/account/password", pages_account.password_post)
    r.add_get("/account/reset/{token}", pages_account.reset_get)
    r.add_post("/account/reset/{token}", pages_account.reset_post)
    r.add_get("/tokens", pages_admin.tokens)
    r.add_post("/tokens", pages_admin.token_create)
    r.add_post("/tokens/{token_id}/revoke", pages_admin.token_revoke)


def add_routes(app: web.Application, runtime: RuntimeLike,
               clock: Callable[[], datetime] | None = None,
               bot_username: Callable[[], Awaitable[str | None]] | None = None,
               starter: Starter | None = None,
               wake: Callable[[], None] | None = None) -> Dashboard:
    """Register the dashboard and the API; returns the state (tests may swap its clock).

    `bot_username` says which Telegram bot invite links open (getMe); without it, the
    setting does. `starter` starts an "ask now" survey in the request itself, and `wake`
    tells the dispatcher there is something to send; without them the sweep does both.
    """
    state = Dashboard(engine=runtime.engine, vault=runtime.vault, index=runtime.index,
                      settings=runtime.settings, goodbye=runtime.goodbye,
                      bot_username=bot_username, starter=starter)
    if wake is not None:
        state.wake = wake
    if clock is not None:
        state.clock = clock
    app[DASHBOARD] = state
    _page_routes(app)
    _api_routes(app)
    return state
