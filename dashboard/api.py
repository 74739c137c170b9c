"""The JSON API under /api/v1/: the case actions (casework/) for a case-management system.

Errors are JSON (`ErrorOut`): 401 without a valid bearer token, 404 for a case that does not
exist *or belongs to another caseworker* (nothing is revealed), 400 for a body that is not
JSON, 422 for a value that cannot be used (with the field's name).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web
from sqlmodel import Session, col, select

from casework import (
    asking,
    cases,
    exports,
    invites,
    organisation,
    participants,
    rater_settings,
    sessions,
)
from casework.errors import Invalid
from dashboard.api_support import (
    URGENCY,
    body,
    case_detail,
    endpoint,
    lang_of,
    out,
    participant_out,
)
from dashboard.casedata import (
    CaseRow,
    case_rows,
    viewed_case,
    viewed_list,
    visible_case,
    visible_participant,
)
from dashboard.guard import dash, json_error
from dashboard.i18n import error_key, t
from dashboard.schemas import (
    AnswerOut,
    AskOut,
    Cancelled,
    CaseCreate,
    CaseDetail,
    CaseList,
    CaseSummary,
    CaseUpdate,
    MeOut,
    ParticipantCreate,
    ParticipantCreated,
    ParticipantList,
    ParticipantOut,
    ParticipantUpdate,
    RatingOut,
    RatingsOut,
    SessionCancel,
    SessionCreate,
    SessionList,
    SessionOut,
)
from reports.casefile import load_case_data
from reports.export import export_document
from reports.scoring import case_ratings
from storage.models import Case, Meeting, Participant, User
from storage.repo.errors import NotFound


@endpoint
async def me(request: web.Request, user: User) -> web.StreamResponse:
    """GET /api/v1/me."""
    return out(MeOut(user_id=user.id, email=user.email, role=user.role))


@endpoint
async def list_cases(request: web.Request, user: User) -> web.StreamResponse:
    """GET /api/v1/cases."""
    d, lang = dash(request), lang_of(request)
    now = d.now()

    def load(session: Session) -> list[CaseRow]:
        rows = case_rows(session, d.vault, user, now=now, lang=lang, rules=d.rules)
        viewed_list(session, user, [r.id for r in rows], now=now, via="api")
        return rows

    rows = await d.run(load)
    return out(CaseList(cases=[CaseSummary(
        case_id=r.id, ref=r.ref, child_name=r.child_name, caseworker_email=r.caseworker,
        urgency=URGENCY[r.urgency], why=r.why,
        last_rating_at=r.last_rating, next_prompt_at=r.next_prompt) for r in rows]))


@endpoint
async def create_case(request: web.Request, user: User) -> web.StreamResponse:
    """POST /api/v1/cases."""
    d = dash(request)
    new = await body(request, CaseCreate)
    now = d.now()

    def make(session: Session) -> CaseDetail:
        owner = cases.caseworker_for(session, user, new.caseworker_email)
        case = cases.create_case(session, d.vault, actor=user.email, caseworker=owner,
                                 ref=new.ref, child_name=new.child_name,
                                 birth_date=new.birth_date, cadence=new.cadence, now=now,
                                 provider=new.provider)
        return case_detail(session, d.vault, case, now, "da", d.rules)

    detail = await d.run(make)
    return out(detail, 201, {"Location": f"/api/v1/cases/{detail.case_id}"})


@endpoint
async def get_case(request: web.Request, user: User) -> web.StreamResponse:
    """GET /api/v1/cases/{case_id}; audited as a view."""
    d, lang = dash(request), lang_of(request)
    now = d.now()

    def load(session: Session) -> CaseDetail:
        case = viewed_case(session, user, request.match_info["case_id"], now=now,
                           via="api:case")
        return case_detail(session, d.vault, case, now, lang, d.rules)

    return out(await d.run(load))


@endpoint
async def patch_case(request: web.Request, user: User) -> web.StreamResponse:
    """PATCH /api/v1/cases/{case_id}: cadence, override, goals, provider."""
    d = dash(request)
    change = await body(request, CaseUpdate)
    now = d.now()

    def apply(session: Session) -> CaseDetail:
        case = visible_case(session, user, request.match_info["case_id"])
        fields = change.model_fields_set
        if "cadence" in fields or "cadence_override" in fields:
            override = change.cadence_override if "cadence_override" in fields \
                else case.cadence_override
            cases.set_cadence(session, case, name=change.cadence or case.cadence,
                              override=override, actor=user.email, now=now)
        if change.goals is not None:
            cases.set_goals(session, d.vault, case, change.goals, actor=user.email, now=now)
        if "provider" in fields:
            organisation.set_case_provider(session, case, actor=user.email,
                                           provider=change.provider, now=now)
        return case_detail(session, d.vault, case, now, "da", d.rules)

    return out(await d.run(apply))


@endpoint
async def list_participants(request: web.Request, user: User) -> web.StreamResponse:
    """GET /api/v1/cases/{case_id}/participants."""
    d = dash(request)
    now = d.now()

    def load(session: Session) -> ParticipantList:
        case = viewed_case(session, user, request.match_info["case_id"], now=now,
                           via="api:participants")
        people = session.exec(select(Participant).where(
            Participant.case_id == case.id, Participant.status != "erased")
            .order_by(col(Participant.created_at))).all()
        return ParticipantList(participants=[participant_out(session, d.vault, p)
                                             for p in people])

    return out(await d.run(load))


@endpoint
async def add_participant(request: web.Request, user: User) -> web.StreamResponse:
    """POST /api/v1/cases/{case_id}/participants; the invite is in the answer, once."""
    d = dash(request)
    new = await body(request, ParticipantCreate)
    now = d.now()

    def add(session: Session) -> ParticipantCreated:
        case = visible_case(session, user, request.match_info["case_id"])
        invite = participants.add_participant(
            session, d.vault, d.index, case, actor=user.email, role=new.role,
            channel=new.channel, name=new.name, phone=new.phone, language=new.language,
            guardian_consent=new.guardian_consent, public_url=d.settings.public_url,
            bot_username=bot_username, now=now)
        return ParticipantCreated(
            participant=participant_out(session, d.vault, invite.participant),
            invite_code=invite.code, invite_url=invite.url)

    bot_username = await d.telegram_username()
    return out(await d.run(add), 201)


@endpoint
async def invite(request: web.Request, user: User) -> web.StreamResponse:
    """POST .../participants/{participant_id}/invite: a new invite; earlier ones stop working."""
    d = dash(request)
    now = d.now()
    bot_username = await d.telegram_username()

    def apply(session: Session, case: Case, person: Participant) -> ParticipantCreated:
        made = invites.new_invite(session, person, actor=user.email,
                                  public_url=d.settings.public_url, bot_username=bot_username,
                                  now=now)
        return ParticipantCreated(participant=participant_out(session, d.vault, person),
                                  invite_code=made.code, invite_url=made.url)

    return out(await _on_person(request, user, apply), 201)


async def _on_person(request: web.Request, user: User,
                     fn: Callable[[Session, Case, Participant], Any]) -> Any:
    d = dash(request)

    def apply(session: Session) -> Any:
        case = visible_case(session, user, request.match_info["case_id"])
        person = visible_participant(session, case, request.match_info["participant_id"])
        return fn(session, case, person)

    return await d.run(apply)


@endpoint
async def withdraw(request: web.Request, user: User) -> web.StreamResponse:
    """POST .../participants/{participant_id}/withdraw: stop all contact now."""
    d = dash(request)
    now = d.now()

    def apply(session: Session, case: Case, person: Participant) -> ParticipantOut:
        participants.withdraw_participant(session, person, actor=user.email, via="dashboard",
                                          now=now)
        return participant_out(session, d.vault, person)

    return out(await _on_person(request, user, apply))


# A request while the person's question still waits for its answer: 409, with the reason.
WAITING = {"already_asked": "survey_running", "ask_queued": "ask_queued"}


@endpoint
async def ask(request: web.Request, user: User) -> web.StreamResponse:
    """POST .../participants/{participant_id}/ask: a rating request now, started in this
    request (the dispatcher is woken); 409 while one waits for its answer."""
    d = dash(request)
    now = d.now()

    def apply(session: Session, case: Case, person: Participant) -> AskOut:
        asked = asking.ask_now(session, person, actor=user.email, now=now, starter=d.starter)
        return AskOut(participant_id=person.id, due_at=asked.due_at, started=asked.started)

    try:
        answer: AskOut = await _on_person(request, user, apply)
    except Invalid as exc:
        if exc.code not in WAITING:
            raise
        return json_error(409, "conflict", t(error_key(exc.code), "en"),
                          reason=WAITING[exc.code], **{k: str(v) for k, v in exc.facts.items()
                                                       if k != "participant"})
    if answer.started:
        d.wake()
    return out(answer, 202)


@endpoint
async def patch_participant(request: web.Request, user: User) -> web.StreamResponse:
    """PATCH .../participants/{participant_id}: the contact window and the rating mode."""
    d = dash(request)
    change = await body(request, ParticipantUpdate)
    now = d.now()

    def apply(session: Session, case: Case, person: Participant) -> ParticipantOut:
        settings = rater_settings.set_rater_settings
        try:
            if "contact_window" in change.model_fields_set:
                settings(session, person, actor=user.email, now=now,
                         quiet_hours=d.settings.quiet_hours, window=change.contact_window,
                         rates_sessions=change.rates_sessions)
            else:
                settings(session, person, actor=user.email, now=now,
                         quiet_hours=d.settings.quiet_hours,
                         rates_sessions=change.rates_sessions)
        except Invalid as exc:  # the body's name for the field
            exc.field = "contact_window" if exc.code == "window" else exc.field
            raise
        return participant_out(session, d.vault, person)

    return out(await _on_person(request, user, apply))


def _session_out(m: Meeting) -> SessionOut:
    return SessionOut(session_id=m.id, starts_at=m.starts_at, minutes=m.minutes,
                      series_id=m.series_id, cancelled=m.cancelled_at is not None)


@endpoint
async def list_sessions(request: web.Request, user: User) -> web.StreamResponse:
    """GET /api/v1/cases/{case_id}/sessions."""
    d = dash(request)

    def load(session: Session) -> SessionList:
        case = visible_case(session, user, request.match_info["case_id"], part="ratings")
        rows = session.exec(select(Meeting).where(Meeting.case_id == case.id)
                            .order_by(col(Meeting.starts_at))).all()
        return SessionList(sessions=[_session_out(m) for m in rows])

    return out(await d.run(load))


@endpoint
async def add_sessions(request: web.Request, user: User) -> web.StreamResponse:
    """POST /api/v1/cases/{case_id}/sessions."""
    d = dash(request)
    new = await body(request, SessionCreate)
    now = d.now()

    def add(session: Session) -> SessionList:
        case = visible_case(session, user, request.match_info["case_id"])
        rows = sessions.add_sessions(session, case, at=new.at, minutes=new.minutes,
                                     every=new.every, until=new.until, zone=d.zone,
                                     actor=user.email, now=now)
        return SessionList(sessions=[_session_out(m) for m in rows])

    return out(await d.run(add), 201)


@endpoint
async def cancel_session(request: web.Request, user: User) -> web.StreamResponse:
    """POST /api/v1/cases/{case_id}/sessions/{session_id}/cancel."""
    d = dash(request)
    change = await body(request, SessionCancel)
    now = d.now()

    def apply(session: Session) -> Cancelled:
        case = visible_case(session, user, request.match_info["case_id"])
        count = sessions.cancel_session(session, request.match_info["session_id"],
                                        series=change.series, actor=user.email, now=now,
                                        case=case)
        return Cancelled(cancelled=count)

    return out(await d.run(apply))


@endpoint
async def ratings(request: web.Request, user: User) -> web.StreamResponse:
    """GET /api/v1/cases/{case_id}/ratings: answers and scored ratings; audited."""
    d = dash(request)
    now = d.now()

    def load(session: Session) -> RatingsOut:
        case = viewed_case(session, user, request.match_info["case_id"], now=now,
                           via="api:ratings", part="ratings")
        data = load_case_data(session, d.vault, case.id, now=now, comments=False)
        rows = export_document(data, rules=d.rules)["answers"]
        return RatingsOut(case_id=case.id, answers=[AnswerOut(**r) for r in rows], ratings=[
            RatingOut(answered_at=r.answered_at, participant_id=r.participant_id,
                      rater_role=r.rater_role, kind=r.kind, instrument=r.instrument,
                      total=r.total, partial=r.partial) for r in case_ratings(data, d.rules)])

    return out(await d.run(load))


@endpoint
async def export(request: web.Request, user: User) -> web.StreamResponse:
    """GET /api/v1/cases/{case_id}/export/{format}: pdf, csv, png, svg or json; audited."""
    d, lang = dash(request), lang_of(request)
    fmt = request.match_info["format"]
    if fmt not in exports.MEDIA_TYPES:
        raise NotFound("format")
    now = d.now()

    def make(session: Session) -> bytes:
        case = visible_case(session, user, request.match_info["case_id"])
        return exports.export_case(session, d.vault, case, fmt, actor=user.email, lang=lang,
                                   now=now, via="api", rules=d.rules).body

    data = await d.run(make)
    response = web.Response(body=data)
    response.headers["Content-Type"] = exports.MEDIA_TYPES[fmt]
    return response
