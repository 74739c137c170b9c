"""A rater's word on being asked is shown as it stands: a "no thanks" is its own state, not
"not yet"."""

from __future__ import annotations

from sqlmodel import Session

from consent import agreements
from storage.repo import cases
from tests.dashboard.harness import Site


async def test_a_declined_consent_shows_as_declined_and_a_stop_as_withdrawn(site: Site) -> None:
    site.user("anna@kommune.dk")
    case_id = site.case("anna@kommune.dk")
    with Session(site.rt.engine, expire_on_commit=False) as session:
        case = cases.get_case(session, case_id)
        parent = cases.add_participant(session, site.rt.vault, site.rt.index, case=case,
                                       role="parent", channel="sms", phone="+45 20 30 40 50")
        teacher = cases.add_participant(session, site.rt.vault, site.rt.index, case=case,
                                        role="teacher", channel="sms", phone="+45 20 30 40 51")
        agreements.record(session, parent, action="declined", given_by="self",
                          recorded_by="participant", at=site.clock())
        agreements.record(session, teacher, action="given", given_by="self",
                          recorded_by="participant", at=site.clock())
        agreements.record(session, teacher, action="withdrawn", given_by="self",
                          recorded_by="participant", at=site.clock())
        session.commit()
    agent = site.agent()
    await agent.sign_in("anna@kommune.dk")

    status, html = await agent.get(f"/cases/{case_id}")

    assert status == 200
    assert html.count("Har sagt nej tak til at blive spurgt") == 1
    assert "Trukket tilbage" in html
