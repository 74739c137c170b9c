"""Acknowledging an alert: by someone who may act on its case, with a note, once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from casework.alerts import acknowledge
from casework.errors import Invalid
from storage.models import Case, Notice
from storage.repo import alerts
from storage.repo.errors import Conflict, NotFound
from tests.casework.conftest import NOW, WORKER, World


def an_alert(world: World, case: Case) -> str:
    child = world.rater(case)
    return alerts.raise_safety(world.session, world.vault, case_id=case.id,
                               participant_id=child.id, category="violence", free_text_id=None,
                               now=NOW, deadline=timedelta(hours=24),
                               escalate_after=timedelta(hours=4))


def test_acknowledging_stops_the_escalation_and_audits_who_was_signed_in(world: World) -> None:
    case = world.case()
    alert_id = an_alert(world, case)

    view = acknowledge(world.session, world.vault, alert_id, by=world.worker,
                       note="  Talt med barnet ", via="dashboard", now=NOW, case=case)

    assert (view.acknowledged_by, view.note) == (WORKER, "Talt med barnet")
    assert {n.status for n in world.session.exec(select(Notice))} == {"cancelled"}
    (entry,) = world.audit("alert.ack")
    assert entry.actor == WORKER


def test_on_the_command_line_the_audit_names_who_ran_it(world: World) -> None:
    alert_id = an_alert(world, world.case())

    acknowledge(world.session, world.vault, alert_id, by=world.worker, note="Vurderet",
                via="cli:anna", now=NOW)

    (entry,) = world.audit("alert.ack")
    assert entry.actor == "cli:anna" and f"by={WORKER}" in entry.detail


def test_another_caseworkers_alert_is_refused(world: World) -> None:
    alert_id = an_alert(world, world.case())
    stranger = world.user("bo@kommune.dk")

    with pytest.raises(Invalid) as refused:
        acknowledge(world.session, world.vault, alert_id, by=stranger, note="x",
                    via="cli:anna", now=NOW)

    assert refused.value.code == "not_their_case"
    assert world.audit("alert.ack") == []


def test_through_another_case_the_alert_is_not_found(world: World) -> None:
    alert_id = an_alert(world, world.case())

    with pytest.raises(NotFound) as missing:
        acknowledge(world.session, world.vault, alert_id, by=world.worker, note="x",
                    via="api", now=NOW, case=world.case())

    assert str(missing.value) == "alert"


@pytest.mark.parametrize("note", ["", "   ", "x" * (alerts.NOTE_MAX + 1)])
def test_an_empty_or_too_long_note_is_refused(world: World, note: str) -> None:
    alert_id = an_alert(world, world.case())

    with pytest.raises(Invalid) as refused:
        acknowledge(world.session, world.vault, alert_id, by=world.worker, note=note,
                    via="api", now=NOW)

    assert (refused.value.code, refused.value.field) == ("alert_note", "note")


def test_an_alert_is_acknowledged_once(world: World) -> None:
    alert_id = an_alert(world, world.case())
    acknowledge(world.session, world.vault, alert_id, by=world.worker, note="Vurderet",
                via="api", now=NOW)

    with pytest.raises(Conflict):
        acknowledge(world.session, world.vault, alert_id, by=world.worker, note="igen",
                    via="api", now=NOW)
