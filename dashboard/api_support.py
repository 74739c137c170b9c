"""Shared parts of the JSON API: error answers, strict bodies, and the case's JSON views."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError
from sqlmodel import Session, col, select

from casework.errors import Invalid
from consent.agreements import state
from dashboard.casedata import overview, shown_urgency
from dashboard.guard import api_handler, json_error
from dashboard.i18n import error_key, t
from dashboard.schemas import AgreementOut, AlertOut, CaseDetail, GoalOut, ParticipantOut
from reports.alerts import case_status
from reports.casefile import load_case_data
from reports.i18n import alert_line, rater_labels, status_line, texts
from reports.model import CaseData
from reports.rules import DEFAULT_RULES, ScoringRules
from storage.models import Case, Participant, ProviderOrg, User
from storage.repo.errors import NotFound
from storage.vault import Vault

M = TypeVar("M", bound=BaseModel)
# Index = the shown urgency (reports.alerts.Urgency, then "waiting": no ratings from the child).
URGENCY = ("safety", "not_on_track", "alliance", "divergence", "missing", "on_track", "waiting")
Endpoint = Callable[[web.Request, User], Awaitable[web.StreamResponse]]


class ApiError(Exception):
    """An error answer: HTTP status, stable code, message."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


def endpoint(fn: Endpoint) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Bearer auth plus one translation of errors into JSON answers."""

    @functools.wraps(fn)
    async def wrapped(request: web.Request, user: User) -> web.StreamResponse:
        try:
            return await fn(request, user)
        except ApiError as exc:
            extra = {"field": exc.field} if exc.field else {}
            return json_error(exc.status, exc.code, exc.message, **extra)
        except NotFound as exc:
            return json_error(404, "not_found", f"no such {exc} (or it is not yours)")
        except Invalid as exc:
            extra = {"field": exc.field} if exc.field else {}
            return json_error(422, "invalid", t(error_key(exc.code), "en"), **extra)

    return api_handler(wrapped)


def out(model: BaseModel, status: int = 200, headers: dict[str, str] | None = None
        ) -> web.Response:
    """A response body from a pydantic model."""
    return web.json_response(model.model_dump(mode="json"), status=status, headers=headers)


async def body(request: web.Request, model: type[M]) -> M:
    """The request body parsed and validated strictly; 400 or 422 with the first problem."""
    raw = await request.read()
    try:
        return model.model_validate_json(raw or b"{}")
    except ValidationError as exc:
        first = exc.errors()[0]
        if first["type"] == "json_invalid":
            raise ApiError(400, "bad_json", "the body must be a JSON object") from None
        where = ".".join(str(p) for p in first["loc"]) or None
        raise ApiError(422, "invalid", f"{where or 'body'}: {first['msg']}", where) from None


def lang_of(request: web.Request) -> str:
    """The `lang` query parameter (da or en, default da) for the reason texts."""
    lang = request.query.get("lang", "da")
    if lang not in ("da", "en"):
        raise ApiError(422, "invalid", "lang must be da or en", "lang")
    return lang


def participant_out(session: Session, vault: Vault, person: Participant) -> ParticipantOut:
    """A participant as the API shows it (the phone number is never returned)."""
    agreed = state(session, person.id, person.channel)
    return ParticipantOut(
        participant_id=person.id, case_id=person.case_id, role=person.role,
        channel=person.channel, language=person.language,
        name=vault.open(session, person, "name"), status=person.status,
        telegram_linked=person.chat_index is not None,
        agreement=AgreementOut(self_agreed=agreed.self_agreed,
                               guardian_agreed=agreed.guardian_agreed,
                               withdrawn=agreed.withdrawn),
        contact_window=person.contact_window, rates_sessions=person.rates_sessions)


def case_alerts(session: Session, vault: Vault, case: Case, now: datetime, lang: str,
                rules: ScoringRules = DEFAULT_RULES, *,
                data: CaseData | None = None) -> tuple[str, str, list[AlertOut]]:
    """The case's shown urgency, its one-line why, and the alerts behind it (from `data`
    when the caller loaded the case already)."""
    tx = texts(lang)
    if data is None:
        data = load_case_data(session, vault, case.id, now=now, comments=False)
    status = case_status(data, now=now, rules=rules)
    labels = rater_labels(data.raters, tx)
    alerts = [AlertOut(rule=a.rule, severity=a.severity, raised_at=a.raised_at,
                       participant_id=a.participant_id, rater_role=a.rater_role,
                       detail=a.detail, reason=alert_line(a, labels, tx))
              for a in status.reasons]
    return URGENCY[shown_urgency(status, lang)[0]], status_line(status, labels, tx), alerts


def case_detail(session: Session, vault: Vault, case: Case, now: datetime, lang: str,
                rules: ScoringRules = DEFAULT_RULES) -> CaseDetail:
    """One case as the API shows it."""
    o = overview(session, vault, case, now=now, lang=lang, rules=rules)
    urgency, why, alerts = case_alerts(session, vault, case, now, lang, rules, data=o.data)
    people = session.exec(select(Participant).where(
        Participant.case_id == case.id, Participant.status != "erased")
        .order_by(col(Participant.created_at))).all()
    org = session.get(ProviderOrg, case.provider_id) if case.provider_id else None
    return CaseDetail(
        case_id=case.id, ref=case.ref, child_name=o.view.child_name,
        child_birth_date=o.view.child_birth_date, caseworker_email=o.caseworker,
        status=case.status, cadence=case.cadence, cadence_override=case.cadence_override,
        urgency=urgency, why=why,
        goals=[GoalOut(goal_id=g, position=i, text=text)
               for i, (g, text) in enumerate(o.goals, start=1)],
        participants=[participant_out(session, vault, p) for p in people], alerts=alerts,
        next_prompt_at=o.next_prompt, provider=org.name if org else None)
