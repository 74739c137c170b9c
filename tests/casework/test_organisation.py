"""Teams, leaders, provider organisations and deputies: who sees which case, and how much."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from casework import lifecycle, organisation, users
from casework.access import FULL, RATINGS_ONLY, Access, case_access, visible_cases
from casework.cases import caseworker_for
from casework.errors import Invalid
from storage.models import Case, User
from storage.repo.errors import NotFound
from tests.casework.conftest import NOW, WORKER, World

CPH = ZoneInfo("Europe/Copenhagen")


def staff(world: World, email: str, role: str = "caseworker", team: str | None = None,
          provider: str | None = None) -> User:
    return users.add_user(world.session, actor="admin@kommune.dk", email=email, role=role,
                          password=None, now=NOW, team=team, provider=provider)


def seen(world: World, user: User) -> set[str]:
    return set(world.session.exec(select(Case.id).where(
        visible_cases(world.session, user, now=NOW))).all())


def access(world: World, user: User, case: Case) -> Access | None:
    return case_access(world.session, user, case, now=NOW)


def test_a_leader_sees_the_teams_cases_and_no_other_teams(world: World) -> None:
    organisation.add_team(world.session, actor="cli", name="Børn Vest", now=NOW)
    organisation.add_team(world.session, actor="cli", name="Børn Øst", now=NOW)
    west = staff(world, "west@kommune.dk", team="Børn Vest")
    east = staff(world, "east@kommune.dk", team="Børn Øst")
    leader = staff(world, "leder@kommune.dk", role="leader", team="Børn Vest")
    ours, theirs = world.case(owner=west), world.case(owner=east)

    assert access(world, leader, ours) == FULL
    assert access(world, leader, theirs) is None
    assert seen(world, leader) == {ours.id}
    assert access(world, west, theirs) is None  # a caseworker still sees only their own


def test_a_hand_over_moves_the_case_into_the_new_caseworkers_team(world: World) -> None:
    organisation.add_team(world.session, actor="cli", name="Vest", now=NOW)
    organisation.add_team(world.session, actor="cli", name="Øst", now=NOW)
    west = staff(world, "west@kommune.dk", team="Vest")
    east = staff(world, "east@kommune.dk", team="Øst")
    west_leader = staff(world, "lv@kommune.dk", role="leader", team="Vest")
    east_leader = staff(world, "lo@kommune.dk", role="leader", team="Øst")
    case = world.case(owner=west)

    lifecycle.hand_over(world.session, case, to=east.email, actor=west_leader.email, now=NOW)

    assert access(world, east_leader, case) == FULL
    assert access(world, west_leader, case) is None


def test_a_provider_sees_only_ratings_of_its_own_organisations_cases(world: World) -> None:
    organisation.add_provider(world.session, actor="cli", name="Familiehuset", now=NOW)
    organisation.add_provider(world.session, actor="cli", name="Skolen", now=NOW)
    ours, theirs, none = world.case(), world.case(), world.case()
    organisation.set_case_provider(world.session, ours, actor=WORKER, provider="Familiehuset",
                                   now=NOW)
    organisation.set_case_provider(world.session, theirs, actor=WORKER, provider="Skolen",
                                   now=NOW)
    therapist = staff(world, "t@familiehuset.dk", role="provider", provider="Familiehuset")

    assert access(world, therapist, ours) == RATINGS_ONLY
    assert access(world, therapist, theirs) is None
    assert access(world, therapist, none) is None
    assert seen(world, therapist) == {ours.id}
    assert [e.detail for e in world.audit("case.provider")][0].startswith("provider=")


def test_a_provider_user_needs_an_organisation_and_staff_have_none(world: World) -> None:
    organisation.add_provider(world.session, actor="cli", name="Familiehuset", now=NOW)

    with pytest.raises(Invalid) as no_org:
        staff(world, "p@x.dk", role="provider")
    with pytest.raises(Invalid) as staff_org:
        staff(world, "c@x.dk", provider="Familiehuset")
    with pytest.raises(Invalid) as unknown:
        staff(world, "d@x.dk", team="Findes ikke")

    assert (no_org.value.code, staff_org.value.code, unknown.value.code) == (
        "provider_needed", "provider_role", "team")


def test_a_provider_user_neither_opens_nor_takes_over_cases(world: World) -> None:
    organisation.add_provider(world.session, actor="cli", name="Familiehuset", now=NOW)
    therapist = staff(world, "t@familiehuset.dk", role="provider", provider="Familiehuset")
    case = world.case()

    with pytest.raises(NotFound):
        caseworker_for(world.session, therapist, None)
    with pytest.raises(Invalid) as refused:
        lifecycle.hand_over(world.session, case, to=therapist.email, actor=WORKER, now=NOW)
    assert refused.value.code == "handover_to"


def test_a_deputy_has_the_absent_caseworkers_access_during_their_dates_only(
        world: World) -> None:
    deputy = staff(world, "vikar@kommune.dk")
    case = world.case()
    today = NOW.astimezone(CPH).date()
    organisation.add_deputy(world.session, actor="cli", for_email=WORKER,
                            deputy_email=deputy.email, first_day=today,
                            last_day=today + timedelta(days=6), zone=CPH, now=NOW)

    during = case_access(world.session, deputy, case, now=NOW + timedelta(days=3))
    after = case_access(world.session, deputy, case, now=NOW + timedelta(days=7))
    before = case_access(world.session, deputy, case, now=NOW - timedelta(days=1))

    assert during == Access(full=True, deputy_for=WORKER)
    assert (before, after) == (None, None)
    (entry,) = world.audit("deputy.add")
    assert entry.detail.endswith(f"from={today} to={today + timedelta(days=6)}")


def test_a_deputy_period_is_checked(world: World) -> None:
    deputy = staff(world, "vikar@kommune.dk")

    def refused(for_email: str, deputy_email: str, first: date, last: date) -> str:
        with pytest.raises(Invalid) as exc:
            organisation.add_deputy(world.session, actor="cli", for_email=for_email,
                                    deputy_email=deputy_email, first_day=first,
                                    last_day=last, zone=CPH, now=NOW)
        return exc.value.code

    day = date(2026, 3, 2)
    assert refused(WORKER, deputy.email, day, day - timedelta(days=1)) == "deputy_period"
    assert refused(WORKER, WORKER, day, day) == "deputy_same"
    assert refused(WORKER, "nobody@kommune.dk", day, day) == "deputy_user"


def test_team_and_provider_names_are_unique(world: World) -> None:
    organisation.add_team(world.session, actor="cli", name="Vest", now=NOW)

    with pytest.raises(Invalid) as again:
        organisation.add_team(world.session, actor="cli", name="  Vest ", now=NOW)

    assert again.value.code == "org_exists"
