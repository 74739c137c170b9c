"""The *Vurderet* form: a caseworker marks an alert of their case assessed, with a note."""

from __future__ import annotations

from aiohttp import web
from sqlmodel import Session

from casework import alerts as casework_alerts
from casework.errors import Invalid
from dashboard.casedata import visible_case
from dashboard.guard import Viewer, dash, not_found, page_handler
from dashboard.i18n import error_key
from dashboard.pages_cases import back, field
from storage.repo.alerts import NOTE_MAX
from storage.repo.errors import Conflict, NotFound


@page_handler
async def alert_ack(request: web.Request, me: Viewer) -> web.StreamResponse:
    """POST /cases/{case_id}/alerts/{alert_id}/ack: the *Vurderet* form, with a note."""
    d = dash(request)
    form = await request.post()
    case_id, alert_id = request.match_info["case_id"], request.match_info["alert_id"]
    note = field(form, "note", NOTE_MAX + 1)
    now = d.now()

    def apply(session: Session) -> None:
        case = visible_case(session, me.user, case_id)
        casework_alerts.acknowledge(session, d.vault, alert_id, by=me.user, note=note,
                                    via="dashboard", now=now, case=case)

    try:
        await d.run(apply)
    except NotFound:
        return not_found(request, me)
    except Invalid as exc:
        raise back(case_id, error=error_key(exc.code), anchor="alerts") from None
    except Conflict:
        raise back(case_id, error="error.alert_done", anchor="alerts") from None
    if field(form, "from") == "list":
        raise web.HTTPSeeOther(location="/?done=alert_ack")
    raise back(case_id, done="alert_ack", anchor="alerts")
