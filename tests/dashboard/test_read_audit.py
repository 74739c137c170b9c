"""Every read of personal data is audited, lists included: one entry per list view naming
the cases on it."""

from __future__ import annotations

from tests.dashboard.harness import Site
from tests.dashboard.test_api import Api


async def test_the_case_list_page_is_one_audit_entry_naming_every_case_on_it(site: Site) -> None:
    site.user("anna@kommune.dk")
    first, second = site.case("anna@kommune.dk", "K-1"), site.case("anna@kommune.dk", "K-2")
    agent = site.agent()
    await agent.sign_in("anna@kommune.dk")  # lands on the list once
    before = len(site.audit("case.list"))

    status, _ = await agent.get("/")

    entry = site.audit("case.list")[-1]
    assert status == 200
    assert len(site.audit("case.list")) == before + 1
    assert entry.actor == "anna@kommune.dk"
    assert entry.target == "cases:2"
    assert first in entry.detail and second in entry.detail


async def test_api_lists_of_cases_and_of_a_cases_people_are_audited(site: Site) -> None:
    site.user("anna@kommune.dk")
    case_id = site.case("anna@kommune.dk")
    api = Api(site, "anna@kommune.dk")

    listed, _ = await api.call("GET", "/cases")
    people, _ = await api.call("GET", f"/cases/{case_id}/participants")

    assert (listed, people) == (200, 200)
    [listing] = site.audit("case.list")
    assert case_id in listing.detail and "via=api" in listing.detail
    assert [e.detail for e in site.audit("case.view")] == ["via=api:participants"]
