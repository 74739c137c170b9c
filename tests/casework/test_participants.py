"""Adding a rater (with their invite and a custody holder's yes) and withdrawing them."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import select

from casework import participants
from casework.asking import ask_now
from casework.errors import Invalid
from casework.invites import Invitation
from storage.models import Case, DuePrompt, Invite, Participant
from storage.repo.invites import resolve_webchat
from tests.casework.conftest import NOW, PUBLIC_URL, WORKER, World


def add(world: World, case: Case, *, role: str = "child", channel: str = "webchat",
        phone: str | None = None, guardian_consent: bool = False) -> Invitation:
    """A rater added as the dashboard, the API and the command line add one."""
    return participants.add_participant(
        world.session, world.vault, world.index, case, actor=WORKER, role=role,
        channel=channel, name=None, phone=phone, language="da",
        guardian_consent=guardian_consent, public_url=PUBLIC_URL, bot_username="stemme_bot",
        now=NOW)


def test_a_web_chat_rater_gets_their_page_at_once_and_the_adding_is_audited(
    world: World,
) -> None:
    case = world.case()

    invitation = add(world, case, guardian_consent=True)

    person = invitation.participant
    assert invitation.url == f"{PUBLIC_URL}/chat/{invitation.code}"
    assert resolve_webchat(world.session, invitation.code or "", now=NOW) == person
    assert [(e.action, e.actor) for e in world.audit("participant.add")
            + world.audit("consent.guardian") + world.audit("invite.create")] == [
        ("participant.add", WORKER), ("consent.guardian", WORKER), ("invite.create", WORKER)]


def test_an_sms_rater_gets_no_invite_and_needs_a_phone(world: World) -> None:
    case = world.case()

    texted = add(world, case, role="parent", channel="sms", phone="12345678")
    with pytest.raises(Invalid) as refused:
        add(world, case, role="parent", channel="sms", phone=" ")

    assert (texted.code, texted.url) == (None, None)
    assert world.session.exec(select(Invite)).all() == []
    assert (refused.value.code, refused.value.field) == ("phone_needed", "phone")


def test_an_unreadable_phone_number_is_refused_with_the_reason(world: World) -> None:
    with pytest.raises(Invalid) as refused:
        add(world, world.case(), role="parent", channel="sms", phone="call me")

    assert refused.value.code == "phone" and refused.value.facts["reason"]


def test_a_rater_joins_only_an_open_case(world: World) -> None:
    case = world.case()
    case.status = "closed"

    with pytest.raises(Invalid) as refused:
        add(world, case)

    assert (refused.value.code, refused.value.facts["status"]) == ("case_closed", "closed")
    assert world.session.exec(select(Participant)).all() == []


def test_from_fifteen_a_child_decides_alone(world: World) -> None:
    case = world.case(born=date(2010, 1, 1))

    with pytest.raises(Invalid) as refused:
        add(world, case, guardian_consent=True)

    assert (refused.value.code, refused.value.facts["age"]) == ("guardian_age", 16)


def test_a_guardian_agrees_only_for_a_child(world: World) -> None:
    parent = world.rater(world.case(), role="parent")

    with pytest.raises(Invalid) as refused:
        participants.record_guardian(world.session, world.vault, parent, actor=WORKER, now=NOW)

    assert (refused.value.code, refused.value.facts["role"]) == ("guardian_child", "parent")


def test_withdrawing_cancels_what_is_pending_and_ends_the_page(world: World) -> None:
    case = world.case()
    invitation = add(world, case)
    child = invitation.participant
    ask_now(world.session, child, actor=WORKER, now=NOW)

    participants.withdraw_participant(world.session, child, actor=WORKER, via="dashboard",
                                      now=NOW + timedelta(minutes=1))
    participants.withdraw_participant(world.session, child, actor=WORKER, via="dashboard",
                                      now=NOW + timedelta(minutes=2))

    assert child.status == "withdrawn"
    assert [p.status for p in world.session.exec(select(DuePrompt))] == ["cancelled"]
    assert resolve_webchat(world.session, invitation.code or "", now=NOW) is None
    assert [e.detail for e in world.audit("consent.withdraw")] == ["via=dashboard"]


def test_a_contact_window_that_quiet_hours_swallow_is_refused(world: World) -> None:
    kept = participants.contact_window("man-fre 08:00-16:00", quiet_hours="20:00-08:00")

    with pytest.raises(Invalid) as refused:
        participants.contact_window("21:00-23:00", quiet_hours="20:00-08:00")

    assert kept == "mon-fri 08:00-16:00"
    assert refused.value.code == "window" and "exclude each other" in str(
        refused.value.facts["reason"])
    assert participants.contact_window(None, quiet_hours="20:00-08:00") is None
