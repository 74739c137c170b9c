"""Closing, reopening and handing over a case: one implementation, its refusals and its plans."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from casework import lifecycle, users
from casework.errors import Invalid
from casework.sessions import add_sessions
from consent import agreements
from consent.withdrawal import withdraw
from scheduler.planner import PlanConfig, plan_followups, plan_sessions
from scheduler.prompts import add_prompt
from storage.models import Case, Conversation, DuePrompt, Meeting, OutboxMessage, Participant
from storage.repo import cases as repo
from storage.repo.outbox import open_payload
from tests.casework.conftest import NOW, WORKER, World

CPH = ZoneInfo("Europe/Copenhagen")
QUIET = "20:00-08:00"


def goodbye(language: str) -> str:
    return f"goodbye-{language}"


def agreed(world: World, person: Participant) -> Participant:
    """The person (and for a child, a custody holder) said yes to contact."""
    if person.role == "child":
        agreements.record(world.session, person, action="given", given_by="guardian",
                          recorded_by=WORKER, at=NOW, age_at_time=9)
    agreements.record(world.session, person, action="given", given_by="self",
                      recorded_by="participant", at=NOW, age_at_time=9)
    return person


def close(world: World, case: Case, at: datetime = NOW,
          reason: str | None = None) -> lifecycle.Closed:
    return lifecycle.close_case(world.session, world.vault, case, actor=WORKER, reason=reason,
                                goodbye=goodbye, zone=CPH, quiet_hours=QUIET, now=at)


def goodbyes(world: World) -> list[OutboxMessage]:
    return list(world.session.exec(select(OutboxMessage).where(
        OutboxMessage.purpose == "goodbye")).all())


def test_closing_ends_what_is_planned_and_running_and_keeps_the_case(world: World) -> None:
    # Arrange: a prompt due now, one due next week, and a survey running.
    case = world.case()
    child = world.rater(case)
    add_prompt(world.session, participant=child, kind="adhoc", dedupe_key="a", due_at=NOW)
    add_prompt(world.session, participant=child, kind="followup", dedupe_key="f",
               due_at=NOW + timedelta(days=7))
    world.session.add(Conversation(case_id=case.id, participant_id=child.id))
    world.session.flush()

    # Act
    close(world, case, reason="Foranstaltningen er slut")

    # Assert
    assert (case.status, case.closed_at) == ("closed", NOW)
    assert world.vault.open(world.session, case, "closed_reason") == "Foranstaltningen er slut"
    assert [p.status for p in world.session.exec(select(DuePrompt)).all()] == ["cancelled"]
    assert [c.status for c in world.session.exec(select(Conversation)).all()] == ["stopped"]
    (entry,) = world.audit("case.close")
    assert entry.detail == "reason=yes goodbyes=0"  # the words stay sealed with the case
    assert world.session.get(Participant, child.id) is not None


def test_one_goodbye_goes_to_each_who_agreed_and_none_to_who_said_stop(world: World) -> None:
    case = world.case()
    child = agreed(world, world.rater(case))
    parent = agreed(world, world.rater(case, role="parent", channel="sms",
                                       phone="+45 20 30 40 50"))
    stopped = agreed(world, world.rater(case, role="teacher", channel="sms",
                                        phone="+45 30 40 50 60"))
    withdraw(world.session, stopped, at=NOW, via="sms")
    world.rater(case, role="pedagogue")  # never said yes

    closed = close(world, case)

    sent = goodbyes(world)
    assert closed.goodbyes == 2
    assert sorted(m.participant_id or "" for m in sent) == sorted([child.id, parent.id])
    assert {open_payload(world.session, world.vault, m)["message"]["text"] for m in sent} == {
        "goodbye-da"}


def test_a_goodbye_closed_in_the_evening_waits_for_the_morning(world: World) -> None:
    case = world.case()
    parent = agreed(world, world.rater(case, role="parent", channel="sms",
                                       phone="+45 20 30 40 50"))
    evening = datetime(2026, 3, 2, 21, 30, tzinfo=CPH)

    close(world, case, at=evening.astimezone(UTC))

    (message,) = goodbyes(world)
    assert message.participant_id == parent.id
    assert message.not_before.astimezone(CPH) == datetime(2026, 3, 3, 8, 0, tzinfo=CPH)


def test_closing_a_closed_case_and_reopening_an_open_one_are_refused(world: World) -> None:
    case = world.case()

    with pytest.raises(Invalid) as reopening:
        lifecycle.reopen_case(world.session, case, actor=WORKER, zone=CPH, now=NOW)
    close(world, case)
    with pytest.raises(Invalid) as closing:
        close(world, case)

    assert (reopening.value.code, reopening.value.facts["status"]) == ("case_not_closed", "open")
    assert (closing.value.code, closing.value.facts["status"]) == ("case_not_open", "closed")
    assert len(world.audit("case.close")) == 1


def test_reopening_plans_from_the_reopening_and_never_what_fell_due_while_closed(
    world: World,
) -> None:
    # Arrange: weekly sessions; the case is closed for the second and reopened before the
    # third. A sweep ran while it was closed (it marks sessions planned without prompts).
    cfg = PlanConfig(zone=CPH)
    case = world.case()
    world.rater(case, role="parent", channel="sms", phone="+45 20 30 40 50")
    first = NOW + timedelta(days=1)
    add_sessions(world.session, case, at=first, minutes=45, every="1w",
                 until=(first + timedelta(weeks=3)).date(), zone=CPH, actor=WORKER, now=NOW)
    close(world, case)
    while_closed = first + timedelta(weeks=1, hours=2)
    plan_sessions(world.session, while_closed, cfg)
    reopened = first + timedelta(weeks=1, days=2)

    # Act
    lifecycle.reopen_case(world.session, case, actor=WORKER, zone=CPH, now=reopened)
    plan_sessions(world.session, reopened + timedelta(weeks=1), cfg)

    # Assert: only the sessions after the reopening have prompts.
    assert (case.status, case.closed_at, case.closed_reason) == ("open", None, None)
    starts = {m.id: m.starts_at for m in world.session.exec(select(Meeting)).all()}
    asked = sorted(starts[p.session_id or ""] for p in world.session.exec(
        select(DuePrompt).where(DuePrompt.status == "pending")).all())
    assert asked == [first + timedelta(weeks=2)]
    assert len(world.audit("case.reopen")) == 1


def test_reopening_asks_for_follow_ups_from_the_reopening_only(world: World) -> None:
    # Arrange: a teacher rates on a 2-week cadence; the case was closed for a month.
    cfg = PlanConfig(zone=CPH)
    case = world.case()
    case.cadence_override, case.opened_at = "first 2w, every 2w", NOW
    world.rater(case, role="teacher", channel="sms", phone="+45 20 30 40 50")
    plan_followups(world.session, NOW, cfg)
    close(world, case)
    reopened = NOW + timedelta(days=30, hours=8)  # 1 April, 12:00 in Copenhagen

    # Act: reopened, then the sweep plans every day for a fortnight.
    lifecycle.reopen_case(world.session, case, actor=WORKER, zone=CPH, now=reopened)
    for day in range(15):
        plan_followups(world.session, reopened + timedelta(days=day), cfg)

    # Assert: the follow-ups asked for while it was closed (ask days 11 and 25) are not; the
    # one after the reopening (day 39) is.
    due = [p.due_at for p in world.session.exec(select(DuePrompt)).all()]
    assert [d.astimezone(CPH).date() for d in due] == [date(2026, 4, 10)]


def test_a_handover_moves_the_case_and_is_audited(world: World) -> None:
    case = world.case()
    bo = world.user("bo@kommune.dk")

    owner = lifecycle.hand_over(world.session, case, to="BO@kommune.dk ", actor="cli:ops",
                                now=NOW)

    assert owner.id == bo.id and case.caseworker_id == bo.id
    (entry,) = world.audit("case.handover")
    assert entry.detail == f"from=user:{world.worker.id} to=user:{bo.id} via=handover"


@pytest.mark.parametrize(("to", "code"), [("nobody@kommune.dk", "handover_to"),
                                          ("gone@kommune.dk", "handover_to"),
                                          (WORKER, "handover_same")])
def test_a_handover_to_someone_who_cannot_take_it_is_refused(world: World, to: str,
                                                             code: str) -> None:
    case = world.case()
    world.user("gone@kommune.dk").active = False

    with pytest.raises(Invalid) as refused:
        lifecycle.hand_over(world.session, case, to=to, actor=WORKER, now=NOW)

    assert refused.value.code == code and case.caseworker_id == world.worker.id


def test_deactivating_someone_with_open_cases_needs_a_new_owner(world: World) -> None:
    open_case, closed_case = world.case(), world.case()
    close(world, closed_case)
    bo = world.user("bo@kommune.dk")

    with pytest.raises(Invalid) as refused:
        users.deactivate_user(world.session, world.worker, actor="cli:ops", handover_to=None,
                              now=NOW)
    assert (refused.value.code, refused.value.facts["count"]) == ("handover_needed", 1)
    assert world.worker.active

    moved = users.deactivate_user(world.session, world.worker, actor="cli:ops",
                                  handover_to=bo.email, now=NOW)

    assert moved == 2 and not world.worker.active
    assert {open_case.caseworker_id, closed_case.caseworker_id} == {bo.id}
    assert len(world.audit("case.handover")) == 2


def test_someone_with_only_closed_cases_is_deactivated_without_a_new_owner(
    world: World,
) -> None:
    close(world, world.case())

    moved = users.deactivate_user(world.session, world.worker, actor="cli:ops",
                                  handover_to="", now=NOW)

    assert moved == 0 and not world.worker.active


def test_a_closed_case_is_listed_for_the_retention_review(world: World) -> None:
    from consent.retention import closed_for_review

    case = world.case()
    close(world, case)

    listed = closed_for_review(world.session, NOW + timedelta(days=800), months=24)

    assert [c.id for c in listed] == [case.id]
    assert repo.get_case(world.session, case.id).status == "closed"
