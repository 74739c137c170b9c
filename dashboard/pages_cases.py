"""Case pages: my cases, a new case, one case, its graph and exports, goals, cadence, sessions,
and its life: closing, reopening, handing over."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy
from sqlmodel import Session

from casework import cases, exports, lifecycle, organisation, sessions
from casework.access import may_act
from casework.errors import Invalid
from dashboard.alertdata import AlertRow, case_alert_rows, open_alert_rows
from dashboard.casedata import (
    CaseRow,
    audit_view,
    case_rows,
    overview,
    seen_case,
    viewed_list,
    visible_case,
)
from dashboard.guard import Viewer, dash, not_found, page_handler
from dashboard.i18n import catalogue, error_key
from dashboard.render import page
from reports.casefile import load_case_data
from reports.graph import render_progress
from storage.models import Case
from storage.repo.errors import NotFound
from storage.repo.organisation import providers

IMAGE_TYPES = {"png": "image/png", "svg": "image/svg+xml"}


def field(form: MultiDictProxy[Any], name: str, limit: int = 200) -> str:
    """A form field as text, trimmed and cut to `limit` characters."""
    value = form.get(name, "")
    return value.strip()[:limit] if isinstance(value, str) else ""


def back(case_id: str, *, done: str | None = None, error: str | None = None,
         anchor: str = "") -> web.HTTPSeeOther:
    """Post/redirect/get back to the case page, saying what happened."""
    query = f"?done={done}" if done else f"?error={error}" if error else ""
    return web.HTTPSeeOther(location=f"/cases/{case_id}{query}{'#' + anchor if anchor else ''}")


def filename(case: Case, now: datetime, fmt: str) -> str:
    """A download name without anything but the case reference and the day."""
    ref = re.sub(r"[^A-Za-z0-9_-]+", "-", case.ref).strip("-") or "case"
    return f"stemme-{ref}-{now:%Y-%m-%d}.{fmt}"


@page_handler
async def case_list(request: web.Request, me: Viewer) -> web.StreamResponse:
    """GET /: my open cases, the most urgent first."""
    d = dash(request)
    now = d.now()

    def load(session: Session) -> tuple[list[CaseRow], dict[str, list[AlertRow]]]:
        rows = case_rows(session, d.vault, me.user, now=now, lang=me.lang, rules=d.rules)
        viewed_list(session, me.user, [r.id for r in rows], now=now, via="dashboard")
        if me.user.role == "provider":  # ratings, words and sessions only: no alerts
            return rows, {}
        return rows, open_alert_rows(session, d.vault, [r.id for r in rows], lang=me.lang,
                                     now=now, actor=me.user.email)

    rows, alerts = await d.run(load)
    return page(request, "cases.html", {"me": me.user, "csrf": me.csrf, "rows": rows,
                                        "alerts": alerts}, zone=d.zone, lang=me.lang)


def _new_case_page(request: web.Request, me: Viewer, *, error: str | None = None,
                   values: dict[str, str] | None = None, status: int = 200) -> web.Response:
    d = dash(request)
    return page(request, "case_new.html", {
        "me": me.user, "csrf": me.csrf, "error": error, "values": values or {},
        "cadences": cases.cadences()}, zone=d.zone, lang=me.lang, status=status)


@page_handler
async def case_new(request: web.Request, me: Viewer) -> web.StreamResponse:
    """GET /cases/new: the form for a new case."""
    return _new_case_page(request, me)


@page_handler
async def case_create(request: web.Request, me: Viewer) -> web.StreamResponse:
    """POST /cases: create the case, then show it."""
    d = dash(request)
    form = await request.post()
    values = {k: field(form, k) for k in ("ref", "child_name", "birth_date", "cadence",
                                           "caseworker_email")}
    try:
        born = date.fromisoformat(values["birth_date"])
    except ValueError:
        return _new_case_page(request, me, error="error.birth_date", values=values, status=400)
    now = d.now()
    def create(session: Session) -> Case:
        owner = cases.caseworker_for(session, me.user, values["caseworker_email"] or None)
        return cases.create_case(session, d.vault, actor=me.user.email, caseworker=owner,
                                 ref=values["ref"], child_name=values["child_name"],
                                 birth_date=born, cadence=values["cadence"] or "law-minimum",
                                 now=now)

    try:
        case = await d.run(create)
    except Invalid as exc:
        return _new_case_page(request, me, error=error_key(exc.code), values=values,
                              status=400)
    raise web.HTTPSeeOther(location=f"/cases/{case.id}?done=case_created")


@page_handler
async def case_page(request: web.Request, me: Viewer) -> web.StreamResponse:
    """GET /cases/{case_id}: the case before a meeting; every view is audited."""
    d = dash(request)
    now = d.now()

    def load(session: Session) -> Any:
        case, access = seen_case(session, me.user, request.match_info["case_id"], now=now)
        audit_view(session, me.user, case, access, now=now)
        o = overview(session, d.vault, case, now=now, lang=me.lang, rules=d.rules)
        if not access.full:  # a provider user: ratings, words and sessions only
            return o, None, None, [], case.provider_id
        return (o, case_alert_rows(session, d.vault, case.id, lang=me.lang, now=now),
                case.closed_at, providers(session), case.provider_id)

    try:
        view, alerts, closed_at, orgs, provider_id = await d.run(load)
    except NotFound:
        return not_found(request, me)
    if alerts is None:
        return page(request, "case_provider.html", {
            "me": me.user, "csrf": me.csrf, "o": view, "now": now}, zone=d.zone,
            lang=me.lang)
    error = request.query.get("error", "")
    return page(request, "case.html", {
        "me": me.user, "csrf": me.csrf, "o": view, "alerts": alerts, "closed_at": closed_at,
        "cadences": cases.cadences(), "providers": orgs, "provider_id": provider_id,
        "error": error if error.startswith("error.") and error in catalogue(me.lang) else None,
        "now": now}, zone=d.zone, lang=me.lang)


@page_handler
async def case_graph(request: web.Request, me: Viewer) -> web.StreamResponse:
    """GET /cases/{case_id}/graph.{fmt}: the progression graph shown on the case page."""
    d = dash(request)
    fmt = request.match_info["fmt"]
    now = d.now()

    def draw(session: Session) -> bytes:
        case = visible_case(session, me.user, request.match_info["case_id"], now=now,
                            part="ratings")
        data = load_case_data(session, d.vault, case.id, now=now, comments=False)
        return render_progress(data, "png" if fmt == "png" else "svg", lang=me.lang,
                               rules=d.rules)

    try:
        body = await d.run(draw)
    except NotFound:
        return not_found(request, me)
    return web.Response(body=body, content_type=IMAGE_TYPES[fmt])


@page_handler
async def case_export(request: web.Request, me: Viewer) -> web.StreamResponse:
    """GET /cases/{case_id}/export.{fmt}: a download for the case system; audited."""
    d = dash(request)
    fmt = request.match_info["fmt"]
    now = d.now()

    def make(session: Session) -> tuple[Case, bytes]:
        case = visible_case(session, me.user, request.match_info["case_id"])
        return case, exports.export_case(session, d.vault, case, fmt, actor=me.user.email,
                                         lang=me.lang, now=now, via="dashboard",
                                         rules=d.rules).body

    try:
        case, body = await d.run(make)
    except NotFound:
        return not_found(request, me)
    response = web.Response(body=body)
    response.headers["Content-Type"] = exports.MEDIA_TYPES[fmt]
    response.headers["Content-Disposition"] = \
        f'attachment; filename="{filename(case, now, fmt)}"'
    return response


async def _change(request: web.Request, me: Viewer, change: Any, *, anchor: str,
                  done: str) -> web.StreamResponse:
    """Apply `change(session, case, form)` to a visible case and go back to its page."""
    d = dash(request)
    form = await request.post()
    case_id = request.match_info["case_id"]

    def apply(session: Session) -> None:
        change(session, visible_case(session, me.user, case_id), form)

    try:
        await d.run(apply)
    except (NotFound, LookupError):
        return not_found(request, me)
    except Invalid as exc:
        raise back(case_id, error=error_key(exc.code), anchor=anchor) from None
    raise back(case_id, done=done, anchor=anchor)


@page_handler
async def case_goals(request: web.Request, me: Viewer) -> web.StreamResponse:
    """POST /cases/{case_id}/goals: the child's goals, in their own words."""
    d = dash(request)
    now = d.now()
    return await _change(request, me, lambda s, case, form: cases.set_goals(
        s, d.vault, case, [field(form, f"goal{i}", 300) for i in (1, 2, 3)],
        actor=me.user.email, now=now), anchor="goals", done="goals")


@page_handler
async def case_cadence(request: web.Request, me: Viewer) -> web.StreamResponse:
    """POST /cases/{case_id}/cadence: a shipped cadence, or an override for this case."""
    d = dash(request)
    now = d.now()
    return await _change(request, me, lambda s, case, form: cases.set_cadence(
        s, case, name=field(form, "cadence"), override=field(form, "cadence_override", 300),
        actor=me.user.email, now=now), anchor="plan", done="cadence")


def _session_fields(form: MultiDictProxy[Any]) -> tuple[datetime, int, str | None, date | None]:
    try:
        at = datetime.combine(date.fromisoformat(field(form, "date")),
                              time.fromisoformat(field(form, "time") or "15:00"))
        minutes = int(field(form, "minutes") or "45")
        until = date.fromisoformat(field(form, "until")) if field(form, "until") else None
    except ValueError:
        raise Invalid("session_time", "at") from None
    return at, minutes, field(form, "every") or None, until


@page_handler
async def session_add(request: web.Request, me: Viewer) -> web.StreamResponse:
    """POST /cases/{case_id}/sessions: one session or a series, in local time."""
    d = dash(request)
    now = d.now()

    def add(session: Session, case: Case, form: MultiDictProxy[Any]) -> None:
        at, minutes, every, until = _session_fields(form)
        sessions.add_sessions(session, case, at=at, minutes=minutes, every=every,
                              until=until, zone=d.zone, actor=me.user.email, now=now)

    return await _change(request, me, add, anchor="plan", done="session_added")


@page_handler
async def session_cancel(request: web.Request, me: Viewer) -> web.StreamResponse:
    """POST /cases/{case_id}/sessions/{session_id}/cancel: cancel (the rest of) a series."""
    d = dash(request)
    now = d.now()
    return await _change(request, me, lambda s, case, form: sessions.cancel_session(
        s, request.match_info["session_id"], series=field(form, "series") == "1",
        actor=me.user.email, now=now, case=case), anchor="plan", done="session_cancelled")


@page_handler
async def case_close(request: web.Request, me: Viewer) -> web.StreamResponse:
    """POST /cases/{case_id}/close: nobody is asked anything any more; a reason is optional."""
    d = dash(request)
    now = d.now()
    return await _change(request, me, lambda s, case, form: lifecycle.close_case(
        s, d.vault, case, actor=me.user.email, reason=field(form, "reason", 600),
        goodbye=d.goodbye, zone=d.zone, quiet_hours=d.settings.quiet_hours, now=now),
        anchor="life", done="case_closed")


@page_handler
async def case_reopen(request: web.Request, me: Viewer) -> web.StreamResponse:
    """POST /cases/{case_id}/reopen: asked again from now on."""
    d = dash(request)
    now = d.now()
    return await _change(request, me, lambda s, case, form: lifecycle.reopen_case(
        s, case, actor=me.user.email, zone=d.zone, now=now), anchor="life", done="case_reopened")


@page_handler
async def case_handover(request: web.Request, me: Viewer) -> web.StreamResponse:
    """POST /cases/{case_id}/handover: the case moves to another active user (its owner or
    an admin hands it over); an owner who gave it away goes back to their list."""
    d = dash(request)
    form = await request.post()
    case_id = request.match_info["case_id"]
    now = d.now()

    def apply(session: Session) -> bool:
        case = visible_case(session, me.user, case_id)
        lifecycle.hand_over(session, case, to=field(form, "to", 254), actor=me.user.email,
                            now=now)
        return may_act(session, me.user, case, now=now)

    try:
        still_mine = await d.run(apply)
    except NotFound:
        return not_found(request, me)
    except Invalid as exc:
        raise back(case_id, error=error_key(exc.code), anchor="life") from None
    if still_mine:
        raise back(case_id, done="handed_over", anchor="life")
    raise web.HTTPSeeOther(location="/?done=handed_over")


@page_handler
async def case_provider(request: web.Request, me: Viewer) -> web.StreamResponse:
    """POST /cases/{case_id}/provider: the provider organisation whose users see the case's
    ratings, words and sessions (empty for none)."""
    d = dash(request)
    now = d.now()
    return await _change(request, me, lambda s, case, form: organisation.set_case_provider(
        s, case, actor=me.user.email, provider=field(form, "provider", 120) or None, now=now),
        anchor="provider", done="provider")
