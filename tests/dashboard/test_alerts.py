"""The caseworker sees who wrote what and when, and marks it assessed: on the case page, the
case list and through the API; another caseworker sees nothing (404); every view is audited."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlmodel import Session

from dashboard.render import Formats
from storage.models import Alert, Notice
from storage.repo import alerts, cases
from storage.repo.answers import record_free_text
from tests.dashboard.harness import Agent, Site
from tests.dashboard.test_api import Api

WORDS = "min stedfar slår mor når han er fuld"
ANNA = "anna@kommune.dk"


def an_alert(site: Site, case_id: str, category: str = "violence") -> str:
    """The child of the case wrote WORDS, which raised a safety alert (as the host does)."""
    now = site.clock()
    with Session(site.rt.engine) as session:
        case = cases.get_case(session, case_id)
        child = cases.add_participant(session, site.rt.vault, site.rt.index, case=case,
                                      role="child", channel="webchat")
        text = record_free_text(session, site.rt.vault, child, WORDS, at=now, kind="message")
        alert_id = alerts.raise_safety(session, site.rt.vault, case_id=case_id,
                                       participant_id=child.id, category=category,
                                       free_text_id=text.id, now=now,
                                       deadline=timedelta(hours=24),
                                       escalate_after=timedelta(hours=4))
        session.commit()
    return alert_id


def escalation(site: Site, alert_id: str) -> Notice:
    (row,) = site.rows(Notice, alert_id=alert_id, kind="escalation")
    return row


async def signed_in(site: Site, email: str = ANNA) -> Agent:
    agent = site.agent()
    await agent.sign_in(email)
    return agent


# -- API --------------------------------------------------------------------------------

async def test_the_api_lists_a_cases_alerts_with_the_words_and_audits_the_reading(
    site: Site,
) -> None:
    site.user(ANNA)
    case_id = site.case(ANNA)
    alert_id = an_alert(site, case_id)
    api = Api(site, ANNA)

    status, body = await api.call("GET", f"/cases/{case_id}/alerts")

    assert status == 200 and body["urgency"] == "safety"
    (item,) = body["alerts"]
    assert {k: item[k] for k in ("alert_id", "rule", "category", "participant_role", "words",
                                 "acknowledged_at", "acknowledged_by", "note")} == {
        "alert_id": alert_id, "rule": "safety", "category": "violence",
        "participant_role": "child", "words": WORDS, "acknowledged_at": None,
        "acknowledged_by": None, "note": None}
    assert item["deadline_at"] and item["raised_at"]
    assert [r["rule"] for r in body["reasons"]] == ["safety"]
    assert [e.detail for e in site.audit("case.view")] == ["via=api:alerts"]


async def test_the_api_acknowledges_an_alert_once_and_the_case_is_no_longer_urgent(
    site: Site,
) -> None:
    site.user(ANNA)
    case_id = site.case(ANNA)
    alert_id = an_alert(site, case_id)
    api = Api(site, ANNA)
    path = f"/cases/{case_id}/alerts/{alert_id}/ack"

    empty = await api.call("POST", path, {"note": ""})
    not_json = await api.call("POST", path, raw=b"{nope")
    status, acked = await api.call("POST", path, {"note": "Talt med barnet i skolen"})
    again = await api.call("POST", path, {"note": "igen"})
    _, listed = await api.call("GET", f"/cases/{case_id}/alerts")

    assert (empty[0], not_json[0]) == (422, 400)
    assert status == 200
    assert (acked["alert_id"], acked["acknowledged_by"], acked["note"]) == (
        alert_id, ANNA, "Talt med barnet i skolen")
    assert acked["acknowledged_at"] is not None
    assert (again[0], again[1]["error"]) == (409, "conflict")
    assert listed["urgency"] == "waiting" and listed["reasons"] == []
    assert listed["alerts"][0]["note"] == "Talt med barnet i skolen"
    assert escalation(site, alert_id).status == "cancelled"
    assert [e.actor for e in site.audit("alert.ack")] == [ANNA]


async def test_another_caseworker_gets_404_for_the_alerts_and_cannot_acknowledge_them(
    site: Site,
) -> None:
    site.user(ANNA)
    site.user("bo@kommune.dk")
    case_id = site.case(ANNA)
    alert_id = an_alert(site, case_id)
    bos_case = site.case("bo@kommune.dk", ref="K-2")
    bo = Api(site, "bo@kommune.dk")

    listed = await bo.call("GET", f"/cases/{case_id}/alerts")
    acked = await bo.call("POST", f"/cases/{case_id}/alerts/{alert_id}/ack", {"note": "x"})
    sideways = await bo.call("POST", f"/cases/{bos_case}/alerts/{alert_id}/ack",
                             {"note": "x"})

    assert (listed[0], acked[0], sideways[0]) == (404, 404, 404)
    assert WORDS not in str(listed[1])
    row = site.get(Alert, alert_id)
    assert row.acknowledged_at is None and escalation(site, alert_id).status == "pending"
    assert site.audit("case.view") == [] and site.audit("alert.ack") == []


# -- pages --------------------------------------------------------------------------------

def vurderet_form(html: str, alert_id: str) -> re.Match[str] | None:
    return re.search(rf'<form method="post" action="(/cases/[0-9a-f]+/alerts/{alert_id}/ack)">'
                     r'\s*<input type="hidden" name="_csrf" value="[^"]+">', html)


async def test_the_case_page_shows_who_wrote_what_when_and_by_when_to_assess_it(
    site: Site,
) -> None:
    site.user(ANNA)
    case_id = site.case(ANNA)
    alert_id = an_alert(site, case_id, category="suicide")
    anna = await signed_in(site)

    status, html = await anna.get(f"/cases/{case_id}")

    assert status == 200
    section = html[html.index('id="alerts"'):html.index('class="card graph"')]
    assert "Selvmordstanker · Barn" in section
    assert WORDS in section
    deadline = Formats("da", site.rt.settings.zone).when(site.clock() + timedelta(hours=24))
    assert f"vurderes senest {deadline}" in section
    assert vurderet_form(section, alert_id) and ">Vurderet</button>" in section
    viewed = site.audit("case.view")[-1]  # (signing in showed the list, audited too)
    assert (viewed.actor, viewed.target, viewed.detail) == (ANNA, f"case:{case_id}", "")
    headers: Any = anna.last.headers if anna.last else {}
    assert "script-src" not in headers["Content-Security-Policy"]


async def test_vurderet_with_a_note_assesses_the_alert_and_it_stays_visible_as_assessed(
    site: Site,
) -> None:
    site.user(ANNA)
    case_id = site.case(ANNA)
    alert_id = an_alert(site, case_id)
    anna = await signed_in(site)
    _, before = await anna.get(f"/cases/{case_id}")

    forged = await anna.post(f"/cases/{case_id}/alerts/{alert_id}/ack",
                             {"note": "Vurderet"}, csrf=False)
    empty = await anna.post(f"/cases/{case_id}/alerts/{alert_id}/ack", {"note": " "})
    status, _, location = await anna.post(f"/cases/{case_id}/alerts/{alert_id}/ack",
                                          {"note": "Ringet til mor; møde i morgen"})
    _, after = await anna.get(location or "")

    status_before = before[:before.index('id="alerts"')]
    assert "Mulig risiko" in status_before
    assert forged[0] == 403 and empty[2] and "error=error.alert_note" in empty[2]
    assert status == 303 and location == f"/cases/{case_id}?done=alert_ack#alerts"
    section = after[after.index('id="alerts"'):after.index('class="card graph"')]
    assert "Vurderingen er gemt" in after
    assert f"Vurderet af {ANNA}" in section and "Ringet til mor; møde i morgen" in section
    assert WORDS in section and vurderet_form(section, alert_id) is None
    # The case is no longer safety-urgent (the words stay flagged among what was written).
    assert "Mulig risiko" not in after[:after.index('id="alerts"')]
    assert site.get(Alert, alert_id).acknowledged_at == site.clock()
    assert escalation(site, alert_id).status == "cancelled"


async def test_the_case_list_shows_the_open_alert_and_assesses_it_in_place(
    site: Site,
) -> None:
    site.user(ANNA)
    case_id = site.case(ANNA)
    alert_id = an_alert(site, case_id, category="neglect")
    anna = await signed_in(site)

    _, listed = await anna.get("/")
    status, _, location = await anna.post(f"/cases/{case_id}/alerts/{alert_id}/ack",
                                          {"note": "Vurderet", "from": "list"})
    _, afterwards = await anna.get("/")

    assert "Omsorgssvigt" in listed and WORDS in listed and vurderet_form(listed, alert_id)
    assert "via=list:alerts" in [e.detail for e in site.audit("case.view")]
    assert (status, location) == (303, "/?done=alert_ack")
    assert WORDS not in afterwards and vurderet_form(afterwards, alert_id) is None


async def test_another_caseworker_cannot_see_or_assess_the_alert_on_the_dashboard(
    site: Site,
) -> None:
    site.user(ANNA)
    site.user("bo@kommune.dk")
    case_id = site.case(ANNA)
    alert_id = an_alert(site, case_id)
    bo = await signed_in(site, "bo@kommune.dk")

    page_status, page = await bo.get(f"/cases/{case_id}")
    _, listed = await bo.get("/")
    post_status, _, _ = await bo.post(f"/cases/{case_id}/alerts/{alert_id}/ack",
                                      {"note": "x"})

    assert (page_status, post_status) == (404, 404)
    assert WORDS not in page and WORDS not in listed
    assert site.get(Alert, alert_id).acknowledged_at is None
