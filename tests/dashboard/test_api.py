"""The JSON API as a case-management system uses it: bearer tokens, JSON in and out."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from storage.models import DuePrompt, Meeting
from tests.dashboard.harness import Site


class Api:
    """A thin JSON client with a bearer token."""

    def __init__(self, site: Site, email: str) -> None:
        self.agent = site.agent()
        self.headers = {"Authorization": f"Bearer {site.token(email)}"}

    async def call(self, method: str, path: str, body: Any = None, *,
                   raw: bytes | None = None) -> tuple[int, Any]:
        kw: dict[str, Any] = {"headers": self.headers}
        if raw is not None:
            kw["data"] = raw
        elif body is not None:
            kw["json"] = body
        async with self.agent.http.request(method, f"/api/v1{path}", **kw) as resp:
            if resp.content_type == "application/json":
                return resp.status, await resp.json()
            return resp.status, await resp.read()


async def test_a_case_system_sets_up_a_case_and_reads_it_back(site: Site) -> None:
    site.user("anna@kommune.dk")
    api = Api(site, "anna@kommune.dk")
    start = (site.clock() + timedelta(days=1)).astimezone(site.rt.settings.zone)

    created_status, case = await api.call("POST", "/cases", {
        "ref": "K-2026-7", "child_name": "Sofie", "birth_date": "2014-05-31",
        "cadence": "haderslev"})
    cid = case["case_id"]
    child_status, child = await api.call("POST", f"/cases/{cid}/participants", {
        "role": "child", "channel": "webchat", "guardian_consent": True})
    await api.call("POST", f"/cases/{cid}/participants", {
        "role": "parent", "channel": "sms", "phone": "+45 20 30 40 50", "name": "Mette"})
    sessions_status, sessions = await api.call("POST", f"/cases/{cid}/sessions", {
        "at": start.strftime("%Y-%m-%dT15:00:00"), "every": "1w",
        "until": (start + timedelta(weeks=2)).date().isoformat()})
    patched_status, patched = await api.call("PATCH", f"/cases/{cid}", {
        "goals": ["Sove bedre"], "cadence_override": "first 4w, every 6w"})
    ask_status, _ = await api.call(
        "POST", f"/cases/{cid}/participants/{child['participant']['participant_id']}/ask")
    _, detail = await api.call("GET", f"/cases/{cid}?lang=en")
    _, listing = await api.call("GET", "/cases")
    _, ratings = await api.call("GET", f"/cases/{cid}/ratings")
    _, alerts = await api.call("GET", f"/cases/{cid}/alerts")
    csv_status, csv = await api.call("GET", f"/cases/{cid}/export/csv")

    assert (created_status, case["ref"], case["cadence"]) == (201, "K-2026-7", "haderslev")
    assert child_status == 201
    assert child["invite_url"] == f"{site.base}/chat/{child['invite_code']}"
    assert child["participant"]["agreement"]["guardian_agreed"] is True
    assert sessions_status == 201 and len(sessions["sessions"]) == 3
    assert len(site.rows(Meeting, case_id=cid)) == 3
    assert patched_status == 200
    assert [g["text"] for g in patched["goals"]] == ["Sove bedre"]
    assert patched["cadence_override"] == "first 4w, every 6w"
    assert ask_status == 202 and [p.kind for p in site.rows(DuePrompt)] == ["adhoc"]
    assert [p["role"] for p in detail["participants"]] == ["child", "parent"]
    assert "phone" not in detail["participants"][1]
    assert (detail["urgency"], detail["why"]) == ("waiting", "No ratings from the child yet")
    assert [c["case_id"] for c in listing["cases"]] == [cid]
    assert ratings == {"case_id": cid, "answers": [], "ratings": []}
    assert alerts["alerts"] == []
    assert csv_status == 200 and csv.startswith(b"answered_at,")
    assert [e.detail for e in site.audit("case.view")] == [
        "via=api:case", "via=api:ratings", "via=api:alerts"]
    assert [e.detail for e in site.audit("export.csv")] == ["via=api"]


async def test_errors_are_json_with_a_clear_message(site: Site) -> None:
    site.user("anna@kommune.dk")
    api = Api(site, "anna@kommune.dk")

    bad_json = await api.call("POST", "/cases", raw=b"{not json")
    missing = await api.call("POST", "/cases", {"ref": "K-1"})
    extra = await api.call("POST", "/cases", {"ref": "K-1", "child_name": "S",
                                              "birth_date": "2014-01-01", "colour": "red"})
    future = await api.call("POST", "/cases", {"ref": "K-1", "child_name": "S",
                                               "birth_date": "2099-01-01"})
    unknown = await api.call("GET", "/cases/" + "0" * 32)
    no_route = await api.call("GET", "/nothing/here")
    wrong_method = await api.call("DELETE", "/cases")

    assert (bad_json[0], bad_json[1]["error"]) == (400, "bad_json")
    assert (missing[0], missing[1]["field"]) == (422, "child_name")
    assert (extra[0], extra[1]["field"]) == (422, "colour")
    assert future[0] == 422 and future[1]["field"] == "birth_date"
    assert "birth date" in future[1]["message"]
    assert (unknown[0], unknown[1]["error"]) == (404, "not_found")
    assert (no_route[0], wrong_method[0]) == (404, 405)


async def test_the_openapi_document_describes_every_route(site: Site) -> None:
    agent = site.agent()

    async with agent.http.get("/api/v1/openapi.json") as resp:
        document = await resp.json()

    assert document["openapi"].startswith("3.1")
    assert set(document["paths"]) >= {"/api/v1/cases", "/api/v1/cases/{case_id}",
                                      "/api/v1/cases/{case_id}/export/{format}"}
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert "CaseCreate" in document["components"]["schemas"]
