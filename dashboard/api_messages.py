"""The API's view of what a case's participants wrote: every word, with any safety flag."""

from __future__ import annotations

from aiohttp import web
from sqlmodel import Session

from dashboard.api_support import endpoint, out
from dashboard.casedata import viewed_case
from dashboard.guard import dash
from dashboard.schemas import MessageFlag, MessageList, MessageOut
from reports.casefile import case_messages
from storage.models import User


@endpoint
async def messages(request: web.Request, user: User) -> web.StreamResponse:
    """GET /api/v1/cases/{case_id}/messages: oldest first; the view is audited."""
    d = dash(request)
    now = d.now()

    def load(session: Session) -> MessageList:
        case = viewed_case(session, user, request.match_info["case_id"], now=now,
                           via="api:messages", part="ratings")
        return MessageList([
            MessageOut(written_at=m.written_at, participant_id=m.participant_id,
                       rater_role=m.rater_role, text=m.text,
                       # A provider user sees the words, not the alerts behind a flag.
                       flag=MessageFlag(category=m.flag)
                       if m.flag and user.role != "provider" else None)
            for m in case_messages(session, d.vault, case.id)])

    return out(await d.run(load))
