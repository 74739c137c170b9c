"""How a rater is asked, set on the case page and over the API (`PATCH .../participants/{pid}`),
and "ask now" refused with a reason while a question still waits for its answer."""

from __future__ import annotations

from datetime import date

from storage.models import AuditEntry, Conversation, OutboxMessage, Participant
from tests.dashboard.harness import Agent, Site
from tests.dashboard.test_api import Api

ANNA = "anna@kommune.dk"


async def case_with_parent(site: Site) -> tuple[Agent, str, Participant]:
    """Anna signed in on her case, which has a parent on web chat."""
    site.user(ANNA)
    case_id = site.case(ANNA, born=date(2014, 5, 31))
    anna = site.agent()
    await anna.sign_in(ANNA)
    await anna.get(f"/cases/{case_id}")
    await anna.post(f"/cases/{case_id}/participants", {"role": "parent", "channel": "webchat"})
    await anna.get(f"/cases/{case_id}")
    return anna, case_id, site.rows(Participant, case_id=case_id)[0]


async def test_the_case_page_sets_a_raters_window_and_rating_mode(site: Site) -> None:
    anna, case_id, parent = await case_with_parent(site)

    _, _, location = await anna.post(f"/cases/{case_id}/participants/{parent.id}/settings",
                                     {"window": "man-fre 08:00-16:00", "rates": "cadence"})
    _, page = await anna.get(f"/cases/{case_id}")

    assert location and "done=rater_settings" in location
    saved = site.get(Participant, parent.id)
    assert (saved.contact_window, saved.rates_sessions) == ("mon-fri 08:00-16:00", False)
    assert "Kontakt: mon-fri 08:00-16:00" in page
    assert "Vurderer efter opfølgningsrytmen" in page
    assert 'value="mon-fri 08:00-16:00"' in page
    [entry] = site.audit("participant.settings")
    assert entry.actor == ANNA


async def test_a_window_that_cannot_be_read_is_explained_and_not_saved(site: Site) -> None:
    anna, case_id, parent = await case_with_parent(site)

    _, _, location = await anna.post(f"/cases/{case_id}/participants/{parent.id}/settings",
                                     {"window": "hele tiden", "rates": "sessions"})
    _, page = await anna.get(location or "")

    assert location and "error=error.window" in location
    assert "Kontakttidsrummet kan ikke læses" in page
    assert site.get(Participant, parent.id).contact_window is None


async def test_the_settings_form_needs_its_csrf_token(site: Site) -> None:
    anna, case_id, parent = await case_with_parent(site)

    status, _, _ = await anna.post(f"/cases/{case_id}/participants/{parent.id}/settings",
                                   {"window": "mon-fri 08:00-16:00"}, csrf=False)

    assert status == 403
    assert site.get(Participant, parent.id).contact_window is None


async def test_a_second_ask_now_says_why_nothing_was_sent(site: Site) -> None:
    anna, case_id, parent = await case_with_parent(site)
    await anna.post(f"/cases/{case_id}/participants/{parent.id}/ask")
    sent = len(site.rows(OutboxMessage, participant_id=parent.id))

    _, _, location = await anna.post(f"/cases/{case_id}/participants/{parent.id}/ask")
    _, page = await anna.get(location or "")

    assert location and "error=error.already_asked" in location
    assert "Der er ikke sendt noget nyt" in page
    assert len(site.rows(OutboxMessage, participant_id=parent.id)) == sent
    assert len(site.rows(Conversation, participant_id=parent.id)) == 1


async def test_the_api_sets_a_raters_window_and_mode_and_shows_them(site: Site) -> None:
    _, case_id, parent = await case_with_parent(site)
    api = Api(site, ANNA)
    path = f"/cases/{case_id}/participants/{parent.id}"

    status, body = await api.call("PATCH", path, {"contact_window": "mon-fri 08:00-16:00",
                                                  "rates_sessions": False})
    only_mode, kept = await api.call("PATCH", path, {"rates_sessions": True})
    cleared, emptied = await api.call("PATCH", path, {"contact_window": None})
    _, listed = await api.call("GET", f"/cases/{case_id}/participants")

    assert status == 200
    assert (body["contact_window"], body["rates_sessions"]) == ("mon-fri 08:00-16:00", False)
    assert only_mode == 200
    assert (kept["contact_window"], kept["rates_sessions"]) == ("mon-fri 08:00-16:00", True)
    assert cleared == 200 and emptied["contact_window"] is None
    assert listed["participants"][0]["contact_window"] is None
    assert len(site.audit("participant.settings")) == 3


async def test_the_api_refuses_a_bad_window_naming_the_field(site: Site) -> None:
    _, case_id, parent = await case_with_parent(site)
    api = Api(site, ANNA)
    path = f"/cases/{case_id}/participants/{parent.id}"

    bad, problem = await api.call("PATCH", path, {"contact_window": "whenever"})
    unknown, _ = await api.call("PATCH", path, {"window": "mon-fri 08:00-16:00"})
    typed, _ = await api.call("PATCH", path, {"rates_sessions": "yes"})

    assert (bad, problem["error"], problem["field"]) == (422, "invalid", "contact_window")
    assert (unknown, typed) == (422, 422)
    assert site.rows(AuditEntry, action="participant.settings") == []


async def test_another_caseworkers_rater_is_not_found(site: Site) -> None:
    _, case_id, parent = await case_with_parent(site)
    site.user("bo@kommune.dk")
    api = Api(site, "bo@kommune.dk")

    status, _ = await api.call("PATCH", f"/cases/{case_id}/participants/{parent.id}",
                               {"rates_sessions": False})

    assert status == 404
    assert site.get(Participant, parent.id).rates_sessions is True


async def test_a_second_api_ask_is_a_conflict_with_its_reason(site: Site) -> None:
    _, case_id, parent = await case_with_parent(site)
    api = Api(site, ANNA)
    path = f"/cases/{case_id}/participants/{parent.id}/ask"

    first, started = await api.call("POST", path)
    again, refused = await api.call("POST", path)

    assert (first, started["started"]) == (202, True)
    assert (again, refused["error"], refused["reason"]) == (409, "conflict", "survey_running")
    assert "not answered yet" in refused["message"]
    assert len(site.rows(Conversation, participant_id=parent.id)) == 1


async def test_the_openapi_document_describes_the_participant_patch(site: Site) -> None:
    agent = site.agent()

    async with agent.http.get("/api/v1/openapi.json") as resp:
        document = await resp.json()

    person = document["paths"]["/api/v1/cases/{case_id}/participants/{participant_id}"]
    assert person["patch"]["operationId"] == "updateParticipant"
    body = document["components"]["schemas"]["ParticipantUpdate"]["properties"]
    assert {"contact_window", "rates_sessions"} <= set(body)
    ask = document["paths"]["/api/v1/cases/{case_id}/participants/{participant_id}/ask"]
    assert "409" in ask["post"]["responses"]
