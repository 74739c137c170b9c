"""Asking now without a survey start at hand: one ad-hoc prompt for an active rater of an open
case, audited, for the sweep to start; else refused."""

from __future__ import annotations

import pytest
from sqlmodel import select

from casework.asking import ask_now
from casework.errors import Invalid
from casework.participants import withdraw_participant
from storage.models import DuePrompt
from tests.casework.conftest import NOW, WORKER, World


def test_asking_now_queues_one_prompt_and_audits_it(world: World) -> None:
    case = world.case()
    child = world.rater(case)

    ask_now(world.session, child, actor="cli:anna", now=NOW)

    (prompt,) = world.session.exec(select(DuePrompt)).all()
    assert (prompt.participant_id, prompt.kind, prompt.status) == (child.id, "adhoc", "pending")
    assert prompt.due_at.replace(tzinfo=NOW.tzinfo) == NOW
    (entry,) = world.audit("survey.send")
    assert (entry.actor, entry.target) == ("cli:anna", f"participant:{child.id}")


def test_asking_again_before_the_first_request_started_is_refused(world: World) -> None:
    child = world.rater(world.case())
    ask_now(world.session, child, actor=WORKER, now=NOW)

    with pytest.raises(Invalid) as refused:
        ask_now(world.session, child, actor=WORKER, now=NOW)

    assert refused.value.code == "ask_queued"
    assert len(world.session.exec(select(DuePrompt)).all()) == 1
    assert len(world.audit("survey.send")) == 1


def test_asking_a_withdrawn_participant_is_refused(world: World) -> None:
    child = world.rater(world.case())
    withdraw_participant(world.session, child, actor=WORKER, via="dashboard", now=NOW)

    with pytest.raises(Invalid) as refused:
        ask_now(world.session, child, actor=WORKER, now=NOW)

    assert refused.value.code == "cannot_ask"
    assert refused.value.facts["status"] == "withdrawn"
    assert world.session.exec(select(DuePrompt)).all() == []
    assert world.audit("survey.send") == []


def test_asking_in_a_closed_case_is_refused(world: World) -> None:
    case = world.case()
    child = world.rater(case)
    case.status = "closed"
    world.session.add(case)

    with pytest.raises(Invalid) as refused:
        ask_now(world.session, child, actor=WORKER, now=NOW)

    assert (refused.value.code, refused.value.facts["case_status"]) == ("cannot_ask", "closed")
