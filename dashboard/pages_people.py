"""Participant pages: add a rater, show their invite as a link and QR code, agreement, ask now,
and how they are asked (contact window, sessions or cadence)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import segno
from aiohttp import web
from markupsafe import Markup
from sqlmodel import Session

from casework import asking, invites, participants, rater_settings
from casework.errors import Invalid
from casework.invites import Invitation
from dashboard.casedata import role_name, visible_case, visible_participant
from dashboard.guard import Viewer, dash, not_found, page_handler
from dashboard.i18n import error_key, t
from dashboard.pages_cases import back, field
from dashboard.render import page
from storage.models import Case, Participant
from storage.repo.errors import NotFound


def qr_svg(text: str, title: str) -> Markup:
    """An inline SVG QR code, big enough to scan from a phone held up to another."""
    code = segno.make(text, error="m")
    return Markup(code.svg_inline(scale=6, border=3, dark="#000", light="#fff",  # noqa: S704
                                  title=title, svgclass="qr"))


def _invite_page(request: web.Request, me: Viewer, case: Case, invite: Invitation,
                 child_name: str | None) -> web.Response:
    d = dash(request)
    person = invite.participant
    qr = qr_svg(invite.url, t("invite.qr_title", me.lang)) if invite.url else None
    return page(request, "invite.html", {
        "me": me.user, "csrf": me.csrf, "case": case, "invite": invite, "qr": qr,
        "role": role_name(person.role, me.lang), "name": child_name,
        "bot_missing": person.channel == "telegram" and not invite.url,
        "expires_days": invites.lifetime(person.channel).days}, zone=d.zone, lang=me.lang)


@page_handler
async def participant_add(request: web.Request, me: Viewer) -> web.StreamResponse:
    """POST /cases/{case_id}/participants: a new rater; chat raters get their invite at once."""
    d = dash(request)
    form = await request.post()
    now = d.now()
    settings = d.settings
    bot_username = await d.telegram_username()

    def add(session: Session) -> tuple[Case, Invitation, str | None]:
        case = visible_case(session, me.user, request.match_info["case_id"])
        invite = participants.add_participant(
            session, d.vault, d.index, case, actor=me.user.email, role=field(form, "role"),
            channel=field(form, "channel"), name=field(form, "name", 120),
            phone=field(form, "phone", 40), language=field(form, "language") or "da",
            guardian_consent=field(form, "guardian") == "1", public_url=settings.public_url,
            bot_username=bot_username, now=now)
        return case, invite, d.vault.open(session, invite.participant, "name")

    try:
        case, invite, name = await d.run(add)
    except NotFound:
        return not_found(request, me)
    except Invalid as exc:
        raise back(request.match_info["case_id"], error=error_key(exc.code),
                   anchor="raters") from None
    if invite.code is None:
        raise back(case.id, done="participant_added", anchor="raters")
    return _invite_page(request, me, case, invite, name)


@page_handler
async def participant_invite(request: web.Request, me: Viewer) -> web.StreamResponse:
    """POST /cases/{case_id}/participants/{participant_id}/invite: a fresh link and QR code."""
    d = dash(request)
    now = d.now()
    settings = d.settings
    bot_username = await d.telegram_username()

    def make(session: Session) -> tuple[Case, Invitation, str | None]:
        case = visible_case(session, me.user, request.match_info["case_id"])
        person = visible_participant(session, case, request.match_info["participant_id"])
        invite = invites.new_invite(session, person, actor=me.user.email,
                                    public_url=settings.public_url,
                                    bot_username=bot_username, now=now)
        return case, invite, d.vault.open(session, person, "name")

    try:
        case, invite, name = await d.run(make)
    except NotFound:
        return not_found(request, me)
    except Invalid as exc:
        raise back(request.match_info["case_id"], error=error_key(exc.code),
                   anchor="raters") from None
    return _invite_page(request, me, case, invite, name)


async def _person_change(request: web.Request, me: Viewer, change: Any, *,
                         done: str | Callable[[Any], str]) -> web.StreamResponse:
    d = dash(request)
    case_id = request.match_info["case_id"]

    def apply(session: Session) -> Any:
        case = visible_case(session, me.user, case_id)
        person: Participant = visible_participant(session, case,
                                                  request.match_info["participant_id"])
        return change(session, case, person)

    try:
        result = await d.run(apply)
    except NotFound:
        return not_found(request, me)
    except Invalid as exc:
        raise back(case_id, error=error_key(exc.code), anchor="raters") from None
    raise back(case_id, done=done if isinstance(done, str) else done(result), anchor="raters")


@page_handler
async def participant_guardian(request: web.Request, me: Viewer) -> web.StreamResponse:
    """POST .../guardian: record a custody holder's yes for a child under 15."""
    d = dash(request)
    now = d.now()
    return await _person_change(request, me, lambda s, _case, person:
                                participants.record_guardian(s, d.vault, person,
                                                             actor=me.user.email, now=now),
                                done="guardian")


@page_handler
async def participant_withdraw(request: web.Request, me: Viewer) -> web.StreamResponse:
    """POST .../withdraw: stop all contact with the participant at once."""
    d = dash(request)
    now = d.now()
    return await _person_change(request, me, lambda s, _case, person:
                                participants.withdraw_participant(
                                    s, person, actor=me.user.email, via="dashboard", now=now),
                                done="withdrawn")


@page_handler
async def participant_ask(request: web.Request, me: Viewer) -> web.StreamResponse:
    """POST .../ask: ask for a rating now, outside the cadence; the survey starts in this
    request and the dispatcher is woken, so the first question goes at once (refused while
    one waits for its answer)."""
    d = dash(request)
    now = d.now()

    def asked(result: asking.Asked) -> str:  # what the notice says
        if result.started:
            d.wake()
            return "asked_now"
        return "asked_later" if d.starter is not None else "asked"

    return await _person_change(request, me, lambda s, _case, person: asking.ask_now(
        s, person, actor=me.user.email, now=now, starter=d.starter), done=asked)


@page_handler
async def participant_settings(request: web.Request, me: Viewer) -> web.StreamResponse:
    """POST .../settings: the rater's contact window and whether they rate sessions or the
    follow-up cadence."""
    d = dash(request)
    form = await request.post()
    now = d.now()
    window, rates = field(form, "window", 100), field(form, "rates")
    return await _person_change(request, me, lambda s, _case, person:
                                rater_settings.set_rater_settings(
                                    s, person, actor=me.user.email, now=now,
                                    quiet_hours=d.settings.quiet_hours, window=window,
                                    rates_sessions=rater_settings.rating_mode(rates)),
                                done="rater_settings")
