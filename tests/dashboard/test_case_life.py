"""A case's life on the dashboard and the API: closed and reopened, handed over with its open
alerts (the old owner then gets 404), and a caseworker deactivated only with a new owner."""

from __future__ import annotations

from storage.models import Case, Notice
from tests.dashboard.harness import Site
from tests.dashboard.test_alerts import ANNA, an_alert, signed_in
from tests.dashboard.test_api import Api

BO = "bo@kommune.dk"
ADMIN = "admin@kommune.dk"


async def test_the_owner_closes_and_reopens_a_case_from_its_page(site: Site) -> None:
    site.user(ANNA)
    case_id = site.case(ANNA)
    anna = await signed_in(site)
    await anna.get(f"/cases/{case_id}")

    closed, _, to = await anna.post(f"/cases/{case_id}/close", {"reason": "Planned end"})
    page_status, page = await anna.get(f"/cases/{case_id}")
    again, _, again_to = await anna.post(f"/cases/{case_id}/close")
    reopened, _, _ = await anna.post(f"/cases/{case_id}/reopen")

    assert (closed, to) == (303, f"/cases/{case_id}?done=case_closed#life")
    assert page_status == 200 and f'action="/cases/{case_id}/reopen"' in page
    assert again == 303 and again_to == f"/cases/{case_id}?error=error.case_not_open#life"
    assert reopened == 303 and site.get(Case, case_id).status == "open"
    assert [e.detail for e in site.audit("case.close")] == ["reason=yes goodbyes=0"]
    assert len(site.audit("case.reopen")) == 1


async def test_a_form_without_the_csrf_token_closes_nothing(site: Site) -> None:
    site.user(ANNA)
    case_id = site.case(ANNA)
    anna = await signed_in(site)

    status, _, _ = await anna.post(f"/cases/{case_id}/close", csrf=False)

    assert status == 403 and site.get(Case, case_id).status == "open"


async def test_the_api_closes_reopens_and_refuses_the_state_a_case_is_in(site: Site) -> None:
    site.user(ANNA)
    case_id = site.case(ANNA)
    api = Api(site, ANNA)

    opened_twice = await api.call("POST", f"/cases/{case_id}/reopen")
    closed = await api.call("POST", f"/cases/{case_id}/close", {"reason": "Moved away"})
    closed_twice = await api.call("POST", f"/cases/{case_id}/close")
    reopened = await api.call("POST", f"/cases/{case_id}/reopen")

    assert opened_twice[0] == 409 and opened_twice[1]["error"] == "conflict"
    assert closed[0] == 200 and closed[1]["status"] == "closed" and closed[1]["closed_at"]
    assert closed_twice[0] == 409
    assert reopened[0] == 200 and reopened[1] == {
        "case_id": case_id, "status": "open", "closed_at": None, "caseworker_email": ANNA,
        "goodbyes": 0}


async def test_after_a_handover_the_new_caseworker_has_the_case_and_its_alerts(
    site: Site,
) -> None:
    # Arrange: Anna's case has an open urgent alert; she was told about it already.
    site.user(ANNA)
    site.user(BO)
    case_id = site.case(ANNA)
    alert_id = an_alert(site, case_id)
    anna, bo = Api(site, ANNA), Api(site, BO)

    # Act
    moved = await anna.call("POST", f"/cases/{case_id}/handover", {"to": BO})
    bo_alerts = await bo.call("GET", f"/cases/{case_id}/alerts")
    anna_case = await anna.call("GET", f"/cases/{case_id}")
    anna_again = await anna.call("POST", f"/cases/{case_id}/handover", {"to": ANNA})

    # Assert: Bo sees the case and the open alert; to Anna it is gone.
    assert moved[0] == 200 and moved[1]["caseworker_email"] == BO
    assert bo_alerts[0] == 200
    assert [(a["alert_id"], a["acknowledged_at"]) for a in bo_alerts[1]["alerts"]] == [
        (alert_id, None)]
    assert anna_case[0] == 404 and anna_again[0] == 404
    (entry,) = site.audit("case.handover")
    assert entry.actor == ANNA and entry.target == f"case:{case_id}"
    # The urgent notice is due again, now: it goes to Bo, who must assess it.
    (urgent,) = site.rows(Notice, alert_id=alert_id, kind="urgent")
    assert urgent.status == "pending"


async def test_a_handover_to_someone_who_cannot_own_cases_is_refused(site: Site) -> None:
    site.user(ANNA)
    case_id = site.case(ANNA)
    api = Api(site, ANNA)

    unknown = await api.call("POST", f"/cases/{case_id}/handover", {"to": "nobody@x.dk"})
    herself = await api.call("POST", f"/cases/{case_id}/handover", {"to": ANNA})

    assert (unknown[0], unknown[1]["field"]) == (422, "to")
    assert herself[0] == 422
    assert site.audit("case.handover") == []


async def test_an_admin_hands_a_case_over_on_its_page(site: Site) -> None:
    site.user(ADMIN, role="admin")
    site.user(ANNA)
    site.user(BO)
    case_id = site.case(ANNA)
    admin = await signed_in(site, ADMIN)
    await admin.get(f"/cases/{case_id}")

    status, _, to = await admin.post(f"/cases/{case_id}/handover", {"to": BO})
    bo = await signed_in(site, BO)
    seen, _ = await bo.get(f"/cases/{case_id}")

    assert (status, to) == (303, f"/cases/{case_id}?done=handed_over#life")
    assert seen == 200


async def test_deactivating_a_caseworker_with_open_cases_needs_a_new_owner(site: Site) -> None:
    site.user(ADMIN, role="admin")
    anna_id = site.user(ANNA)
    site.user(BO)
    case_id = site.case(ANNA)
    admin = await signed_in(site, ADMIN)
    await admin.get("/users")

    refused, page, _ = await admin.post(f"/users/{anna_id}/deactivate")
    still_active = site.get(Case, case_id).caseworker_id == anna_id
    done, _, to = await admin.post(f"/users/{anna_id}/deactivate", {"handover_to": BO})

    assert refused == 400 and "vælg, hvem der overtager dem" in page and still_active
    assert (done, to) == (303, "/users?done=user_deactivated")
    bo = await signed_in(site, BO)
    assert (await bo.get(f"/cases/{case_id}"))[0] == 200
    assert [e.detail for e in site.audit("user.deactivate")] == ["cases_moved=1"]
