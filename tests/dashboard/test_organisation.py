"""Who sees which case on the dashboard and in the API: leaders, provider users, deputies.

Anything outside a user's role is a 404, the same as for a case that does not exist."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import Session, select

from casework import organisation
from storage.models import Alert, Participant, utcnow
from storage.repo import cases
from storage.repo.answers import record_free_text
from storage.repo.users import set_organisation, user_by_email
from tests.dashboard.harness import Site


def arrange(site: Site, do: Any) -> Any:
    with Session(site.rt.engine, expire_on_commit=False) as session:
        done = do(session)
        session.commit()
        return done


def in_team(site: Site, email: str, team: str) -> None:
    def place(session: Session) -> None:
        user = user_by_email(session, email)
        found = organisation.find_team(session, team)
        assert user is not None and found is not None
        set_organisation(session, user, team_id=found.id, provider_id=None)

    arrange(site, place)


def provider_user(site: Site, email: str, org: str) -> None:
    site.user(email, role="provider")

    def place(session: Session) -> None:
        user = user_by_email(session, email)
        found = organisation.find_provider(session, org)
        assert user is not None and found is not None
        set_organisation(session, user, team_id=None, provider_id=found.id)

    arrange(site, place)


def with_words(site: Site, case_id: str) -> None:
    """A child who wrote something, and a parent with a phone number."""
    def add(session: Session) -> None:
        case = cases.get_case(session, case_id)
        child = cases.add_participant(session, site.rt.vault, site.rt.index, case=case,
                                      role="child", channel="webchat")
        cases.add_participant(session, site.rt.vault, site.rt.index, case=case,
                              role="parent", channel="sms", phone="+45 20 30 40 50",
                              name="Mor Hansen")
        record_free_text(session, site.rt.vault, child, "det går fint i skolen",
                         at=site.clock() - timedelta(hours=1))

    arrange(site, add)


async def status_of(site: Site, email: str, method: str, path: str,
                    json: Any = None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {site.token(email)}"}
    async with site.agent().http.request(method, path, headers=headers, json=json) as resp:
        body = await resp.json() if resp.content_type == "application/json" else None
        return resp.status, body


async def test_a_leader_sees_the_teams_cases_and_another_teams_case_is_404(
        site: Site) -> None:
    for name in ("Vest", "Øst"):
        arrange(site, lambda s, n=name: organisation.add_team(s, actor="cli", name=n,
                                                              now=utcnow()))
    for email, team in (("west@kommune.dk", "Vest"), ("east@kommune.dk", "Øst"),
                        ("leder@kommune.dk", "Vest")):
        site.user(email, role="leader" if email.startswith("leder") else "caseworker")
        in_team(site, email, team)
    ours = site.case("west@kommune.dk", ref="V-1")
    theirs = site.case("east@kommune.dk", ref="Ø-1")
    leader = site.agent()
    await leader.sign_in("leder@kommune.dk")

    _, listing = await leader.get("/")
    own_page, _ = await leader.get(f"/cases/{ours}")
    other_page, _ = await leader.get(f"/cases/{theirs}")
    api_other, _ = await status_of(site, "leder@kommune.dk", "GET", f"/api/v1/cases/{theirs}")
    handed, _ = await status_of(site, "leder@kommune.dk", "POST",
                                f"/api/v1/cases/{ours}/handover", {"to": "east@kommune.dk"})

    assert "V-1" in listing and "Ø-1" not in listing
    assert (own_page, other_page, api_other) == (200, 404, 404)
    assert handed == 200  # a leader hands the team's cases over
    after, _ = await leader.get(f"/cases/{ours}")
    assert after == 404  # now the other team's case


async def test_a_provider_sees_its_childrens_ratings_and_words_and_nothing_else(
        site: Site) -> None:
    site.user("cw@kommune.dk")
    for name in ("Familiehuset", "Skolen"):
        arrange(site, lambda s, n=name: organisation.add_provider(s, actor="cli", name=n,
                                                                  now=utcnow()))
    provider_user(site, "t@familiehuset.dk", "Familiehuset")
    provider_user(site, "l@skolen.dk", "Skolen")
    case_id = site.case("cw@kommune.dk", ref="K-7")
    with_words(site, case_id)
    cw = "cw@kommune.dk"
    set_to, detail = await status_of(site, cw, "PATCH", f"/api/v1/cases/{case_id}",
                                     {"provider": "Familiehuset"})
    base = f"/api/v1/cases/{case_id}"

    allowed = [(await status_of(site, "t@familiehuset.dk", "GET", base + tail))[0]
               for tail in ("/ratings", "/messages", "/sessions")]
    refused = [(await status_of(site, "t@familiehuset.dk", method, base + tail, body))[0]
               for method, tail, body in (
                   ("GET", "", None), ("GET", "/participants", None),
                   ("GET", "/alerts", None), ("GET", "/export/json", None),
                   ("PATCH", "", {"goals": ["Sove bedre"]}),
                   ("POST", "/close", {}))]
    other_provider = [(await status_of(site, "l@skolen.dk", "GET", base + tail))[0]
                      for tail in ("/ratings", "/messages", "/sessions")]
    _, words = await status_of(site, "t@familiehuset.dk", "GET", base + "/messages")

    assert (set_to, detail["provider"]) == (200, "Familiehuset")
    assert allowed == [200, 200, 200]
    assert refused == [404] * 6
    assert other_provider == [404] * 3
    assert [m["text"] for m in words] == ["det går fint i skolen"]


async def test_a_providers_case_page_holds_ratings_and_words_but_no_contact_data(
        site: Site) -> None:
    site.user("cw@kommune.dk")
    arrange(site, lambda s: organisation.add_provider(s, actor="cli", name="Familiehuset",
                                                      now=utcnow()))
    provider_user(site, "t@familiehuset.dk", "Familiehuset")
    case_id = site.case("cw@kommune.dk", ref="K-8")
    with_words(site, case_id)
    cw = site.agent()
    await cw.sign_in("cw@kommune.dk")
    await cw.get(f"/cases/{case_id}")
    saved, _, _ = await cw.post(f"/cases/{case_id}/provider", {"provider": "Familiehuset"})
    therapist = site.agent()
    await therapist.sign_in("t@familiehuset.dk")

    _, listing = await therapist.get("/")
    shown, page = await therapist.get(f"/cases/{case_id}")
    export, _ = await therapist.get(f"/cases/{case_id}/export.pdf")
    goals, _, _ = await therapist.post(f"/cases/{case_id}/goals", {"goal1": "x"})

    assert saved == 303 and "K-8" in listing
    assert shown == 200 and "det går fint i skolen" in page
    assert "Mor Hansen" not in page and "20 30 40 50" not in page
    assert 'action="/cases/' not in page  # nothing to change
    assert (export, goals) == (404, 404)


async def test_a_deputys_view_is_audited_as_standing_in_and_ends_with_the_dates(
        site: Site) -> None:
    site.user("cw@kommune.dk")
    site.user("vikar@kommune.dk")
    case_id = site.case("cw@kommune.dk")
    today = utcnow().astimezone(site.rt.settings.zone).date()
    arrange(site, lambda s: organisation.add_deputy(
        s, actor="cli", for_email="cw@kommune.dk", deputy_email="vikar@kommune.dk",
        first_day=today - timedelta(days=1), last_day=today + timedelta(days=1),
        zone=site.rt.settings.zone, now=utcnow()))
    deputy = site.agent()
    await deputy.sign_in("vikar@kommune.dk")

    _, listing = await deputy.get("/")
    status, _ = await deputy.get(f"/cases/{case_id}")
    api, _ = await status_of(site, "vikar@kommune.dk", "GET", f"/api/v1/cases/{case_id}")

    assert (status, api) == (200, 200) and "K-1" in listing
    views = [(e.actor, e.detail) for e in site.audit("case.view")]
    assert views == [("vikar@kommune.dk", "as deputy for cw@kommune.dk"),
                     ("vikar@kommune.dk", "via=api:case as deputy for cw@kommune.dk")]


async def test_a_providers_list_shows_no_urgency_that_could_name_a_safety_alert(
        site: Site) -> None:
    # Arrange: a case of Familiehuset's with an open urgent alert on the child's words.
    site.user("cw@kommune.dk")
    arrange(site, lambda s: organisation.add_provider(s, actor="cli", name="Familiehuset",
                                                      now=utcnow()))
    provider_user(site, "t@familiehuset.dk", "Familiehuset")
    case_id = site.case("cw@kommune.dk", ref="K-8")
    with_words(site, case_id)

    def alert(session: Session) -> None:
        case = cases.get_case(session, case_id)
        organisation.set_case_provider(session, case, actor="cli", provider="Familiehuset",
                                       now=utcnow())
        child = session.exec(select(Participant).where(Participant.case_id == case_id,
                                                       Participant.role == "child")).one()
        session.add(Alert(case_id=case_id, participant_id=child.id, rule="safety",
                          severity="urgent", raised_at=utcnow()))

    arrange(site, alert)
    worker, provider = site.agent(), site.agent()
    await worker.sign_in("cw@kommune.dk")
    await provider.sign_in("t@familiehuset.dk")

    # Act
    _, workers_list = await worker.get("/")
    _, providers_list = await provider.get("/")

    # Assert: the caseworker's line names the urgent state; the provider's names none.
    label = workers_list.split('class="urgency ', 1)[1].split("</span>", 1)[0].split(">", 1)[1]
    assert label and "K-8" in providers_list
    assert label not in providers_list.split("K-8", 1)[1]
