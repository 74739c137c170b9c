"""The API's alerts of a case: the stored alerts with their words, and acknowledging one."""

from __future__ import annotations

from aiohttp import web
from sqlmodel import Session

from dashboard.api_support import ApiError, body, case_alerts, endpoint, lang_of, out
from dashboard.casedata import viewed_case, visible_case
from dashboard.guard import dash
from dashboard.schemas import AlertAck, AlertsOut, StoredAlertOut
from storage.models import User
from storage.repo import alerts as repo
from storage.repo.alerts import AlertView
from storage.repo.errors import Conflict, NotFound


def stored_alert_out(a: AlertView) -> StoredAlertOut:
    """A stored alert as the API shows it."""
    return StoredAlertOut(
        alert_id=a.id, rule=a.rule, severity=a.severity,
        category=a.category, raised_at=a.raised_at, deadline_at=a.deadline_at,
        participant_id=a.participant_id, participant_role=a.role, words=a.words,
        written_at=a.words_at, acknowledged_at=a.acknowledged_at,
        acknowledged_by=a.acknowledged_by, note=a.note, detail=a.detail,
        cleared_at=a.cleared_at)


def _case_of(session: Session, alert_id: str) -> str | None:
    try:
        return repo.alert_case_id(session, alert_id)
    except NotFound:
        return None


@endpoint
async def list_alerts(request: web.Request, user: User) -> web.StreamResponse:
    """GET /api/v1/cases/{case_id}/alerts: stored alerts with their words; audited."""
    d, lang = dash(request), lang_of(request)
    now = d.now()

    def load(session: Session) -> AlertsOut:
        # Reading the words behind the alerts is a view of the case: who and when.
        case = viewed_case(session, user, request.match_info["case_id"], now=now,
                           via="api:alerts")
        urgency, why, reasons = case_alerts(session, d.vault, case, now, lang, d.rules)
        stored = repo.case_alerts(session, d.vault, case.id, words=True)
        return AlertsOut(case_id=case.id, urgency=urgency, why=why,
                         alerts=[stored_alert_out(a) for a in stored], reasons=reasons)

    return out(await d.run(load))


@endpoint
async def ack_alert(request: web.Request, user: User) -> web.StreamResponse:
    """POST /api/v1/cases/{case_id}/alerts/{alert_id}/ack: assessed, with a note; audited."""
    d = dash(request)
    change = await body(request, AlertAck)
    now = d.now()

    def apply(session: Session) -> StoredAlertOut:
        case = visible_case(session, user, request.match_info["case_id"])
        alert_id = request.match_info["alert_id"]
        if _case_of(session, alert_id) != case.id:
            raise NotFound("alert")
        try:
            repo.acknowledge(session, d.vault, alert_id=alert_id, user_id=user.id, via="api",
                             note=change.note, now=now)
        except Conflict as exc:
            raise ApiError(409, "conflict", str(exc)) from None
        except ValueError as exc:
            raise ApiError(422, "invalid", str(exc), "note") from None
        return stored_alert_out(repo.alert_view(session, d.vault, alert_id))

    return out(await d.run(apply))
