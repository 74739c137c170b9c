"""What the child and family wrote: on the case page, in the API, in the exports, literally."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pypdf
from sqlmodel import Session

from storage.models import Alert
from storage.repo import cases
from storage.repo.answers import record_free_text
from tests.dashboard.harness import Site

TEX = "$\\frac{1}{$ 50$ \\fuld"


def _arrange(site: Site) -> dict[str, str]:
    """A case of Anna's: a child's comment, a flagged message, a parent's message."""
    site.user("anna@kommune.dk")
    site.user("bo@kommune.dk")
    case_id = site.case("anna@kommune.dk")
    now = site.clock()
    with Session(site.rt.engine, expire_on_commit=False) as session:
        case = cases.get_case(session, case_id)
        child = cases.add_participant(session, site.rt.vault, site.rt.index, case=case,
                                      role="child", channel="webchat")
        parent = cases.add_participant(session, site.rt.vault, site.rt.index, case=case,
                                       role="parent", channel="sms", phone="+45 20 30 40 50")
        vault = site.rt.vault
        record_free_text(session, vault, child, TEX, at=now - timedelta(hours=3))
        flagged = record_free_text(session, vault, child, "jeg vil ik leve mere <b>nu</b>",
                                   kind="message", at=now - timedelta(hours=2))
        record_free_text(session, vault, parent, "hjælp os", kind="message",
                         at=now - timedelta(hours=1))
        session.flush()
        alert = Alert(case_id=case_id, participant_id=child.id, rule="safety",
                      severity="urgent", raised_at=now - timedelta(hours=2),
                      free_text_id=flagged.id)
        vault.seal(session, alert, "category", "suicide")
        session.add(alert)
        session.commit()
        return {"case": case_id, "child": child.id, "parent": parent.id, "alert": alert.id}


async def test_the_case_page_shows_who_wrote_what_when_and_the_concern(site: Site) -> None:
    ids = _arrange(site)
    anna = site.agent()
    await anna.sign_in("anna@kommune.dk")

    status, page = await anna.get(f"/cases/{ids['case']}")
    _, english = await anna.get(f"/cases/{ids['case']}?lang=en")

    assert status == 200 and "Det skrev barnet og familien" in page
    written = page[page.index('id="written"'):page.index('id="goals"')]
    assert written.index("hjælp os") < written.index("ik leve") < written.index(TEX)
    assert "&lt;b&gt;nu&lt;/b&gt;" in written and "<b>nu</b>" not in written  # never markup
    assert "Mulig risiko: Selvmordstanker" in written and written.count("Mulig risiko") == 1
    assert "Barn · besked" in written and "Forælder · besked" in written
    assert "Barn · kommentar" in written and 'dir="auto"' in written
    assert "What the child and family wrote" in english
    assert "Possible risk: Suicidal thoughts" in english


async def test_the_messages_api_gives_every_word_with_its_flag_and_is_audited(
    site: Site
) -> None:
    ids = _arrange(site)
    headers = {"Authorization": f"Bearer {site.token('anna@kommune.dk')}"}
    other = {"Authorization": f"Bearer {site.token('bo@kommune.dk')}"}
    http = site.agent().http
    path = f"/api/v1/cases/{ids['case']}/messages"

    async with http.get(path, headers=headers) as resp:
        status, body = resp.status, await resp.json()
    async with http.get(path, headers=other) as resp:
        hidden = resp.status

    assert status == 200 and hidden == 404
    assert [(m["participant_id"], m["rater_role"], m["text"], m["flag"]) for m in body] == [
        (ids["child"], "child", TEX, None),
        (ids["child"], "child", "jeg vil ik leve mere <b>nu</b>", {"category": "suicide"}),
        (ids["parent"], "parent", "hjælp os", None),
    ]
    assert all(set(m) == {"written_at", "participant_id", "rater_role", "text", "flag"}
               for m in body)
    views = [e for e in site.audit("case.view") if e.detail == "via=api:messages"]
    assert [(e.actor, e.target) for e in views] == [("anna@kommune.dk", f"case:{ids['case']}")]


async def test_a_comment_full_of_dollar_signs_exports_to_pdf_as_written(site: Site) -> None:
    ids = _arrange(site)
    anna = site.agent()
    await anna.sign_in("anna@kommune.dk")
    headers = {"Authorization": f"Bearer {site.token('anna@kommune.dk')}"}

    async with anna.http.get(f"/cases/{ids['case']}/export.pdf") as resp:
        status, pdf = resp.status, await resp.read()
    async with anna.http.get(f"/api/v1/cases/{ids['case']}/export/pdf", headers=headers) as resp:
        api_status = resp.status

    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    assert status == 200 and api_status == 200
    assert TEX in text and "jeg vil ik leve mere <b>nu</b>" in text and "hjælp os" in text
    assert "Det skrev barnet og familien" in text and "Mulig risiko: Selvmordstanker" in text


async def test_the_json_export_holds_the_messages_and_the_alerts_ids(site: Site) -> None:
    ids = _arrange(site)
    headers = {"Authorization": f"Bearer {site.token('anna@kommune.dk')}"}

    async with site.agent().http.get(f"/api/v1/cases/{ids['case']}/export/json",
                                     headers=headers) as resp:
        status, doc = resp.status, json.loads(await resp.read())

    assert status == 200
    assert [m["text"] for m in doc["messages"]] == [
        TEX, "jeg vil ik leve mere <b>nu</b>", "hjælp os"]
    assert doc["messages"][1]["flag"] == {"category": "suicide"}
    safety = [a for a in doc["alerts"] if a["rule"] == "safety"]
    assert [(a["alert_id"], a["category"], a["acknowledged_at"]) for a in safety] == [
        (ids["alert"], "suicide", None)]
