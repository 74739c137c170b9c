"""Invites: one live invite per chat rater, each channel's lifetime, and who gets none."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import col, select

from casework import invites
from casework.errors import Invalid
from casework.participants import withdraw_participant
from storage.models import Invite
from tests.casework.conftest import NOW, PUBLIC_URL, WORKER, World


def test_a_new_invite_ends_the_earlier_one_and_says_so(world: World) -> None:
    child = world.rater(world.case(), channel="telegram")

    again = invites.new_invite(world.session, child, actor="cli:anna", public_url=PUBLIC_URL,
                               bot_username="@stemme_bot", now=NOW)

    assert again.revoked == 1
    assert again.url == f"https://t.me/stemme_bot?start={again.code}"
    first, second = world.session.exec(select(Invite).order_by(col(Invite.created_at))).all()
    assert first.revoked_at is not None and second.revoked_at is None
    assert [e.actor for e in world.audit("invite.create")] == [WORKER, "cli:anna"]


def test_a_telegram_code_lasts_fourteen_days_and_a_web_chat_page_a_year(world: World) -> None:
    case = world.case()
    world.rater(case, channel="telegram")
    world.rater(case, role="parent", channel="webchat")

    lasts = sorted(i.expires_at.replace(tzinfo=NOW.tzinfo) - NOW
                   for i in world.session.exec(select(Invite)))

    assert lasts == [invites.lifetime("telegram"), invites.lifetime("webchat")]
    assert (lasts[0], lasts[1]) == (timedelta(days=14), timedelta(days=365))


def test_without_the_bots_name_a_telegram_invite_is_a_code_alone(world: World) -> None:
    child = world.rater(world.case(), channel="telegram")

    made = invites.new_invite(world.session, child, actor=WORKER, public_url=PUBLIC_URL,
                              bot_username=None, now=NOW)

    assert made.code and made.url is None


@pytest.mark.parametrize("channel", ["webchat", "sms"])
def test_a_withdrawn_or_texted_rater_gets_no_invite(world: World, channel: str) -> None:
    person = world.rater(world.case(), role="parent", channel=channel, phone="12345678")
    if channel == "webchat":
        withdraw_participant(world.session, person, actor=WORKER, via="dashboard", now=NOW)

    with pytest.raises(Invalid) as refused:
        invites.new_invite(world.session, person, actor=WORKER, public_url=PUBLIC_URL,
                           bot_username=None, now=NOW)

    assert (refused.value.code, refused.value.facts["channel"]) == ("no_invite", channel)
