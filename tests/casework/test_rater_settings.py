"""A rater's contact window and rating mode, changed after they were added: one implementation
for the dashboard and the API, checked, audited, and the planned prompts follow the mode."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from casework.errors import Invalid
from casework.participants import withdraw_participant
from casework.rater_settings import rating_mode, set_rater_settings
from scheduler.prompts import add_prompt
from storage.models import DuePrompt, Participant
from tests.casework.conftest import NOW, WORKER, World

QUIET = "20:00-08:00"


def planned(world: World, person: Participant) -> dict[str, str]:
    """The person's prompts: dedupe key → status."""
    return {p.dedupe_key: p.status for p in world.session.exec(
        select(DuePrompt).where(DuePrompt.participant_id == person.id))}


def test_a_window_is_saved_in_its_canonical_form_and_audited(world: World) -> None:
    parent = world.rater(world.case(), role="parent", channel="sms", phone="+4520304050")

    now = set_rater_settings(world.session, parent, actor=WORKER, now=NOW, quiet_hours=QUIET,
                             window="man-fre 08:00-16:00")

    assert now.contact_window == parent.contact_window == "mon-fri 08:00-16:00"
    assert now.rates_sessions is True  # untouched
    [entry] = world.audit("participant.settings")
    assert (entry.actor, entry.target) == (WORKER, f"participant:{parent.id}")
    assert entry.detail == "changed=contact_window;rates=sessions"


def test_an_empty_window_clears_it(world: World) -> None:
    parent = world.rater(world.case(), role="parent", channel="sms", phone="+4520304050")
    set_rater_settings(world.session, parent, actor=WORKER, now=NOW, quiet_hours=QUIET,
                       window="mon-fri 08:00-16:00")

    set_rater_settings(world.session, parent, actor=WORKER, now=NOW, quiet_hours=QUIET,
                       window="")

    assert parent.contact_window is None


def test_a_window_the_quiet_hours_swallow_is_refused_and_nothing_changes(world: World) -> None:
    parent = world.rater(world.case(), role="parent", channel="sms", phone="+4520304050")

    with pytest.raises(Invalid) as refused:
        set_rater_settings(world.session, parent, actor=WORKER, now=NOW, quiet_hours=QUIET,
                           window="mon-fri 21:00-23:00", rates_sessions=False)

    assert refused.value.code == "window"
    assert (parent.contact_window, parent.rates_sessions) == (None, True)
    assert world.audit("participant.settings") == []


def test_saving_what_is_there_already_changes_and_audits_nothing(world: World) -> None:
    child = world.rater(world.case())

    set_rater_settings(world.session, child, actor=WORKER, now=NOW, quiet_hours=QUIET,
                       window="", rates_sessions=True)

    assert world.audit("participant.settings") == []


def test_a_rater_moved_to_the_cadence_leaves_the_sessions_and_joins_the_follow_ups(
    world: World,
) -> None:
    case = world.case()
    parent = world.rater(case, role="parent", channel="sms", phone="+4520304050")
    teacher = world.rater(case, role="teacher", channel="sms", phone="+4530405060")
    assert (parent.rates_sessions, teacher.rates_sessions) == (True, False)
    soon = NOW + timedelta(hours=5)
    add_prompt(world.session, participant=parent, kind="session", dedupe_key="session:s1",
               due_at=soon, session_id=None)
    add_prompt(world.session, participant=teacher, kind="followup",
               dedupe_key="followup:2026-03-05", due_at=soon)

    set_rater_settings(world.session, parent, actor=WORKER, now=NOW, quiet_hours=QUIET,
                       rates_sessions=False)

    assert planned(world, parent) == {"session:s1": "cancelled",
                                      "followup:2026-03-05": "pending"}
    [entry] = world.audit("participant.settings")
    assert entry.detail == "changed=rates_sessions;rates=cadence"


def test_moved_back_a_rater_is_on_the_planned_session_again(world: World) -> None:
    case = world.case()
    parent = world.rater(case, role="parent", channel="sms", phone="+4520304050")
    child = world.rater(case)
    soon = NOW + timedelta(hours=5)
    for person in (parent, child):
        add_prompt(world.session, participant=person, kind="session",
                   dedupe_key="session:s1", due_at=soon)
    set_rater_settings(world.session, parent, actor=WORKER, now=NOW, quiet_hours=QUIET,
                       rates_sessions=False)

    set_rater_settings(world.session, parent, actor=WORKER, now=NOW, quiet_hours=QUIET,
                       rates_sessions=True)

    assert planned(world, parent) == {"session:s1": "pending"}


def test_a_withdrawn_rater_is_not_changed(world: World) -> None:
    child = world.rater(world.case())
    withdraw_participant(world.session, child, actor=WORKER, via="dashboard", now=NOW)

    with pytest.raises(Invalid) as refused:
        set_rater_settings(world.session, child, actor=WORKER, now=NOW, quiet_hours=QUIET,
                           rates_sessions=False)

    assert refused.value.code == "cannot_ask"


@pytest.mark.parametrize(("text", "mode"), [("sessions", True), ("cadence", False),
                                            ("", None), (None, None)])
def test_the_rating_mode_by_name(text: str | None, mode: bool | None) -> None:
    assert rating_mode(text) is mode


def test_an_unknown_rating_mode_is_refused() -> None:
    with pytest.raises(Invalid) as refused:
        rating_mode("weekly")

    assert refused.value.code == "rates"
