"""The API's alerts of a case: the stored alerts with their words, and acknowledging one."""

from __future__ import annotations

from aiohttp import web
from sqlmodel import Session

from casework import alerts as casework_alerts
from dashboard.api_support import ApiError, body, case_alerts, endpoint, lang_of, out
from dashboard.casedata import viewed_case, visible_case
from dashboard.guard import dash
from dashboard.schemas import AlertAck, AlertsOut, StoredAlertOut
from storage.models import User
from storage.repo import alerts as repo
from storage.repo.alerts import AlertView
from storage.repo.errors import Conflict


def stored_alert_out(a: AlertView) -> StoredAlertOut:
    """A stored alert as the API shows it."""
    return StoredAlertOut(
        alert_id=a.id, rule=a.rule, severity=a.severity,
        category=a.category, raised_at=a.raised_at, deadline_at=a.deadline_at,
        participant_id=a.participant_id, participant_role=a.role, words=a.words,
        written_at=a.words_at, acknowledged_at=a.acknowledged_at,
        acknowledged_by=a.acknowledged_by, note=a.note, detail=a.detail,
        cleared_at=a.cleared_at)


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
        try:
            view = casework_alerts.acknowledge(session, d.vault, request.match_info["alert_id"],
                                               by=user, note=change.note, via="api", now=now,
                                               case=case)
        except Conflict as exc:
            raise ApiError(409, "conflict", str(exc)) from None
        return stored_alert_out(view)

    return out(await d.run(apply))
