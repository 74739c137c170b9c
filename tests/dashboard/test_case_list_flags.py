"""The case list says which cases have no sessions: nobody would be asked about them."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from casework import sessions
from storage.models import Case
from tests.dashboard.harness import Site


async def test_a_case_without_sessions_in_six_weeks_is_flagged_and_one_with_a_session_is_not(
        site: Site) -> None:
    site.user("anna@kommune.dk")
    bare = site.case("anna@kommune.dk", "K-1")
    held = site.case("anna@kommune.dk", "K-2")
    with Session(site.rt.engine) as session:
        case = session.get(Case, held)
        assert case is not None
        sessions.add_sessions(session, case, at=site.clock() + timedelta(days=3), minutes=45,
                              every=None, until=None, zone=site.rt.settings.zone,
                              actor="anna@kommune.dk", now=site.clock())
        session.commit()
    agent = site.agent()
    await agent.sign_in("anna@kommune.dk")

    status, html = await agent.get("/")

    rows = {ref: html.split(f">{ref}<", 1)[1].split("</tr>", 1)[0] for ref in ("K-1", "K-2")}
    assert status == 200 and bare and held
    assert "Ingen samtaler de sidste 6 uger" in rows["K-1"]
    assert "Ingen samtaler de sidste 6 uger" not in rows["K-2"]
