"""Opening a case, who owns it, and its goals and cadence."""

from __future__ import annotations

from datetime import date

import pytest

from casework import cases
from casework.errors import Invalid
from storage.repo.cases import goal_texts
from tests.casework.conftest import NOW, WORKER, World


def test_a_case_is_opened_for_an_active_caseworker_and_audited(world: World) -> None:
    case = cases.create_case(world.session, world.vault, actor="cli:anna",
                             caseworker=world.worker, ref="  K-7 ", child_name=" Malik ",
                             birth_date=date(2012, 1, 1), cadence="haderslev", now=NOW)

    assert (case.ref, case.status, case.caseworker_id) == ("K-7", "open", world.worker.id)
    assert world.vault.open(world.session, case, "child_name") == "Malik"
    (entry,) = world.audit("case.create")
    assert (entry.actor, entry.target) == ("cli:anna", f"case:{case.id}")


def test_a_case_for_a_deactivated_caseworker_is_refused(world: World) -> None:
    world.worker.active = False

    with pytest.raises(Invalid) as refused:
        world.case()

    assert (refused.value.code, refused.value.field) == ("caseworker", "caseworker_email")
    assert world.audit("case.create") == []


@pytest.mark.parametrize("born", [date(2026, 3, 3), date(2000, 12, 31)])
def test_a_birth_date_in_the_future_or_over_25_years_ago_is_refused(
    world: World, born: date
) -> None:
    with pytest.raises(Invalid) as refused:
        world.case(born=born)

    assert (refused.value.code, refused.value.field) == ("birth_date", "birth_date")


def test_an_unknown_cadence_is_refused_naming_the_shipped_ones(world: World) -> None:
    with pytest.raises(Invalid) as refused:
        cases.create_case(world.session, world.vault, actor=WORKER, caseworker=world.worker,
                          ref="K", child_name="A", birth_date=date(2015, 1, 1),
                          cadence="sometimes", now=NOW)

    assert refused.value.code == "cadence"
    assert "law-minimum" in str(refused.value.facts["names"])


def test_only_an_admin_opens_a_case_for_another_caseworker(world: World) -> None:
    admin = world.user("admin@kommune.dk", role="admin")
    other = world.user("bo@kommune.dk")

    assert cases.caseworker_for(world.session, admin, "BO@kommune.dk") == other
    assert cases.caseworker_for(world.session, world.worker, None) == world.worker
    with pytest.raises(Invalid) as refused:
        cases.caseworker_for(world.session, world.worker, "bo@kommune.dk")
    assert refused.value.code == "caseworker"


def test_a_fourth_goal_is_refused_and_three_replace_the_old_ones(world: World) -> None:
    case = world.case()

    with pytest.raises(Invalid) as refused:
        cases.set_goals(world.session, world.vault, case, ["a", "b", "c", "d"], actor=WORKER,
                        now=NOW)
    cases.set_goals(world.session, world.vault, case, ["Sove bedre", " ", "Skole"],
                    actor=WORKER, now=NOW)

    assert refused.value.code == "goals"
    assert [e.detail for e in world.audit("case.goals")] == ["count=2"]


def test_a_cadence_override_is_stored_in_its_canonical_form(world: World) -> None:
    case = world.case()

    cases.set_cadence(world.session, case, name="haderslev", override="First 4W, every 6w",
                      actor=WORKER, now=NOW)
    with pytest.raises(Invalid) as refused:
        cases.set_cadence(world.session, case, name="haderslev", override="sometimes",
                          actor=WORKER, now=NOW)

    assert (case.cadence, case.cadence_override) == ("haderslev", "first 4w, every 6w")
    assert refused.value.code == "cadence_override"


def test_saving_the_goals_unchanged_keeps_their_ids_and_a_moved_goal_keeps_its_own(
        world: World) -> None:
    case = world.case()
    cases.set_goals(world.session, world.vault, case, ["Sove bedre", "Skole"], actor=WORKER,
                    now=NOW)
    before = dict((text, gid) for gid, text in goal_texts(world.session, world.vault, case.id))

    cases.set_goals(world.session, world.vault, case, ["Sove bedre", "Skole"], actor=WORKER,
                    now=NOW)
    unchanged = goal_texts(world.session, world.vault, case.id)
    cases.set_goals(world.session, world.vault, case, ["Skole", "Sove bedre"], actor=WORKER,
                    now=NOW)
    moved = goal_texts(world.session, world.vault, case.id)

    assert unchanged == [(before["Sove bedre"], "Sove bedre"), (before["Skole"], "Skole")]
    assert moved == [(before["Skole"], "Skole"), (before["Sove bedre"], "Sove bedre")]


def test_a_reworded_goal_keeps_its_id_a_removed_one_is_retired_a_new_one_is_new(
        world: World) -> None:
    case = world.case()
    cases.set_goals(world.session, world.vault, case, ["Sove bedre", "Skole", "Venner"],
                    actor=WORKER, now=NOW)
    [(sleep, _), (school, _), (friends, _)] = goal_texts(world.session, world.vault, case.id)

    cases.set_goals(world.session, world.vault, case, ["Sove hele natten", "Skole"],
                    actor=WORKER, now=NOW)
    after_rewording = goal_texts(world.session, world.vault, case.id)
    cases.set_goals(world.session, world.vault, case, ["Sove hele natten", "Skole", "Fodbold"],
                    actor=WORKER, now=NOW)
    [_, _, (football, _)] = goal_texts(world.session, world.vault, case.id)

    assert after_rewording == [(sleep, "Sove hele natten"), (school, "Skole")]
    assert football not in {sleep, school, friends}
