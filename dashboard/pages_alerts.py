"""The *Vurderet* form: a caseworker marks an alert of their case assessed, with a note."""

from __future__ import annotations

from aiohttp import web
from sqlmodel import Session

from dashboard import actions
from dashboard.casedata import visible_case
from dashboard.guard import Viewer, dash, not_found, page_handler
from dashboard.pages_cases import back, field
from storage.repo import alerts as repo
from storage.repo.alerts import NOTE_MAX
from storage.repo.errors import Conflict, NotFound


def _case_of(session: Session, alert_id: str) -> str | None:
    try:
        return repo.alert_case_id(session, alert_id)
    except NotFound:
        return None


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
        if _case_of(session, alert_id) != case.id:
            raise NotFound("alert")
        if not note or len(note) > NOTE_MAX:
            raise actions.Invalid("error.alert_note", "note")
        try:
            repo.acknowledge(session, d.vault, alert_id=alert_id, user_id=me.user.id,
                             note=note, now=now)
        except Conflict:
            raise actions.Invalid("error.alert_done") from None

    try:
        await d.run(apply)
    except NotFound:
        return not_found(request, me)
    except actions.Invalid as exc:
        raise back(case_id, error=exc.key, anchor="alerts") from None
    if field(form, "from") == "list":
        raise web.HTTPSeeOther(location="/?done=alert_ack")
    raise back(case_id, done="alert_ack", anchor="alerts")
