"""The API's case life: closing a case, reopening it, handing it over (casework does each)."""

from __future__ import annotations

from aiohttp import web
from sqlmodel import Session

from casework import lifecycle
from casework.errors import Invalid
from dashboard.api_support import ApiError, body, endpoint, out
from dashboard.casedata import visible_case
from dashboard.guard import dash
from dashboard.i18n import error_key, t
from dashboard.schemas import CaseClose, CaseHandover, CaseState
from storage.models import Case, User

# Asking for the state a case is in already contradicts what is stored: 409, not 422.
STATE_CODES = ("case_not_open", "case_not_closed")


def _state(session: Session, case: Case, goodbyes: int = 0) -> CaseState:
    owner = session.get(User, case.caseworker_id)
    return CaseState(case_id=case.id, status="closed" if case.status == "closed" else "open",
                     closed_at=case.closed_at, caseworker_email=owner.email if owner else "",
                     goodbyes=goodbyes)


def _conflict(exc: Invalid) -> Exception:
    """A refusal as the endpoint answers it: a state conflict is 409, the rest stay 422."""
    if exc.code in STATE_CODES:
        return ApiError(409, "conflict", t(error_key(exc.code), "en"))
    return exc


@endpoint
async def close_case(request: web.Request, user: User) -> web.StreamResponse:
    """POST /api/v1/cases/{case_id}/close (`{"reason": ...}` optional); audited."""
    d = dash(request)
    change = await body(request, CaseClose)
    now = d.now()

    def apply(session: Session) -> CaseState:
        case = visible_case(session, user, request.match_info["case_id"])
        try:
            closed = lifecycle.close_case(session, d.vault, case, actor=user.email,
                                          reason=change.reason, goodbye=d.goodbye, zone=d.zone,
                                          quiet_hours=d.settings.quiet_hours, now=now)
        except Invalid as exc:
            raise _conflict(exc) from None
        return _state(session, case, closed.goodbyes)

    return out(await d.run(apply))


@endpoint
async def reopen_case(request: web.Request, user: User) -> web.StreamResponse:
    """POST /api/v1/cases/{case_id}/reopen; audited."""
    d = dash(request)
    now = d.now()

    def apply(session: Session) -> CaseState:
        case = visible_case(session, user, request.match_info["case_id"])
        try:
            lifecycle.reopen_case(session, case, actor=user.email, zone=d.zone, now=now)
        except Invalid as exc:
            raise _conflict(exc) from None
        return _state(session, case)

    return out(await d.run(apply))


@endpoint
async def hand_over(request: web.Request, user: User) -> web.StreamResponse:
    """POST /api/v1/cases/{case_id}/handover (`{"to": email}`); audited. The answer is the
    last the caller sees of the case unless they are an admin or it came back to them."""
    d = dash(request)
    change = await body(request, CaseHandover)
    now = d.now()

    def apply(session: Session) -> CaseState:
        case = visible_case(session, user, request.match_info["case_id"])
        lifecycle.hand_over(session, case, to=change.to, actor=user.email, now=now)
        return _state(session, case)

    return out(await d.run(apply))
