"""Invites cannot be used to take over a child, and a blocked bot is not the end: specs over
real HTTP through the whole app, with the fake Bot API (getMe included)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, col, select

from bot.i18n import t
from consent.audit import verify
from dashboard import accounts
from storage.models import AuditEntry, Case, Consent, Participant, User, utcnow
from tests.fakes.server import Fault
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.twilio_api import FakeTwilioAPI
from tests.fakes.webhooks import load_fixture, telegram_update
from tests.pipeline.harness import PUBLIC_URL, Stemme, serving

CHAT, OTHER = 5551234, 5559876
GOODBYE = "Denne chat er ikke længere forbundet til Stemme."


@pytest.fixture
async def stemme(tmp_path: Path, db_url: str, fake_telegram: FakeTelegramAPI,
                 fake_twilio: FakeTwilioAPI) -> AsyncIterator[Stemme]:
    # No username setting: invite links name the bot getMe answers with.
    async with serving(tmp_path, db_url, fake_telegram, fake_twilio,
                       telegram_bot_username=None) as app:
        yield app


async def api(stemme: Stemme, path: str, body: Any = None) -> tuple[int, Any]:
    """POST to the JSON API as the case's caseworker."""
    with Session(stemme.rt.engine) as session:
        case = session.get(Case, stemme.case_id)
        user = session.get(User, case.caseworker_id) if case else None
        assert user is not None
        _, token = accounts.create_api_token(session, user, name="spec", created_by=user.email,
                                             now=utcnow())
        session.commit()
    async with stemme.client.post(f"/api/v1{path}", json=body,
                                  headers={"Authorization": f"Bearer {token}"}) as response:
        return response.status, await response.json()


async def new_invite(stemme: Stemme, pid: str) -> dict[str, Any]:
    """A new invite through the API, as a case system or the dashboard makes one."""
    status, made = await api(stemme, f"/cases/{stemme.case_id}/participants/{pid}/invite")
    assert status == 201, made
    return made


async def open_deep_link(stemme: Stemme, chat: int, token: str, update_id: int) -> None:
    """The chat opens t.me/<bot>?start=<token>: Telegram sends /start <token>."""
    update = telegram_update("update_start", update_id=update_id, chat_id=chat,
                             text=f"/start {token}")
    assert await stemme.post_telegram(update) == 200
    await stemme.settle()


async def press_first(stemme: Stemme, tg: FakeTelegramAPI, pid: str, chat: int,
                      update_id: int) -> None:
    """Tap the first button of the last question the chat got."""
    last = tg.sent_messages(chat)[-1]
    [button, *_] = [b for row in last.params["reply_markup"]["inline_keyboard"] for b in row]
    update = telegram_update("update_callback_query", update_id=update_id, chat_id=chat,
                             data=button["callback_data"])
    update["callback_query"]["id"] = f"cbq{update_id}"
    update["callback_query"]["message"]["message_id"] = int(stemme.last_provider_message_id(pid))
    assert await stemme.post_telegram(update) == 200
    await stemme.settle()


def texts(tg: FakeTelegramAPI, chat: int) -> list[str]:
    """What the chat was sent, in order."""
    return [str(r.params["text"]) for r in tg.sent_messages(chat)]


def audit(stemme: Stemme, action: str, pid: str) -> list[AuditEntry]:
    """The audit entries of one action about one participant, oldest first."""
    with Session(stemme.rt.engine) as session:
        return list(session.exec(select(AuditEntry).where(
            AuditEntry.action == action, AuditEntry.target == f"participant:{pid}")
            .order_by(col(AuditEntry.id))).all())


def linked_to(stemme: Stemme, pid: str, chat: int) -> bool:
    """Whether the participant is linked to this Telegram chat."""
    return stemme.participant(pid).chat_index == stemme.rt.index.chat(chat)


async def test_a_spare_invite_used_from_another_chat_links_nothing(
    stemme: Stemme, fake_telegram: FakeTelegramAPI
) -> None:
    # Arrange: two invites for the child (the first is now a spare); the child opens the
    # newest from their own chat and gets the first question.
    child, spare = stemme.add("child", "telegram")
    assert spare
    newest = (await new_invite(stemme, child))["invite_code"]
    await open_deep_link(stemme, CHAT, newest, 1)
    before = len(texts(fake_telegram, CHAT))

    # Act: someone else opens the spare from another chat; then the child answers.
    await open_deep_link(stemme, OTHER, spare, 2)
    await press_first(stemme, fake_telegram, child, CHAT, 3)

    # Assert: the other chat got the reply a wrong code gets, and is linked to nobody; the
    # child's chat still answers as the child, and heard nothing about a move.
    assert texts(fake_telegram, OTHER) == [t("unknown_sender", "da")]
    assert linked_to(stemme, child, CHAT)
    assert len(texts(fake_telegram, CHAT)) > before
    assert GOODBYE not in texts(fake_telegram, CHAT)
    assert t("unknown_sender", "da") not in texts(fake_telegram, CHAT)
    assert stemme.answers(child), "the child's tap was recorded as the child's answer"
    assert not audit(stemme, "participant.relink", child)


async def test_the_newest_invite_moves_the_child_and_both_chats_get_the_right_message(
    stemme: Stemme, fake_telegram: FakeTelegramAPI
) -> None:
    # Arrange: the child is linked in CHAT, then gets a new phone and a new invite.
    child, first = stemme.add("child", "telegram")
    assert first
    await open_deep_link(stemme, CHAT, first, 1)
    made = await new_invite(stemme, child)
    in_old_chat = len(texts(fake_telegram, CHAT))

    # Act: the new invite is opened from the new phone's chat; later the old chat writes.
    await open_deep_link(stemme, OTHER, made["invite_code"], 2)
    old_after_move = texts(fake_telegram, CHAT)[in_old_chat:]
    await stemme.post_telegram(telegram_update("update_message", update_id=3, chat_id=CHAT,
                                               text="hallo?"))
    await stemme.settle()

    # Assert: the old chat got a neutral goodbye that says nothing about the case, the new
    # chat the survey as the child; the old chat is a stranger now.
    assert old_after_move == [GOODBYE]
    assert not any(word in GOODBYE for word in ("Sofie", "K-1"))
    new_chat = texts(fake_telegram, OTHER)
    assert new_chat and GOODBYE not in new_chat and t("unknown_sender", "da") not in new_chat
    assert linked_to(stemme, child, OTHER)
    assert texts(fake_telegram, CHAT)[-1] == t("unknown_sender", "da")
    # Audited: the first link, the new invite (which revoked nothing unused), the move.
    assert [e.detail for e in audit(stemme, "participant.link", child)] == ["telegram"]
    assert [e.detail for e in audit(stemme, "participant.relink", child)] == [
        "telegram;by=invite"]
    assert [e.detail for e in audit(stemme, "invite.create", child)] == [
        "channel=telegram;revoked=0"]
    with Session(stemme.rt.engine) as session:
        assert verify(session).ok
        details = " ".join(e.detail + e.target for e in session.exec(select(AuditEntry)))
    assert str(CHAT) not in details and str(OTHER) not in details


async def test_the_english_goodbye_is_english(
    stemme: Stemme, fake_telegram: FakeTelegramAPI
) -> None:
    child, first = stemme.add("child", "telegram")
    assert first
    with Session(stemme.rt.engine) as session:
        person = session.get(Participant, child)
        assert person is not None
        person.language = "en"
        session.add(person)
        session.commit()
    await open_deep_link(stemme, CHAT, first, 1)
    await open_deep_link(stemme, OTHER, (await new_invite(stemme, child))["invite_code"], 2)

    assert texts(fake_telegram, CHAT)[-1] == "This chat is no longer connected to Stemme."


async def _wrong_page(stemme: Stemme) -> tuple[int, str]:
    async with stemme.client.get("/chat/Never_issued_" + "x" * 18) as response:
        return response.status, await response.text()


async def _page(stemme: Stemme, token: str) -> tuple[int, str]:
    async with stemme.client.get(f"/chat/{token}") as response:
        return response.status, await response.text()


async def _post(stemme: Stemme, token: str, text: str) -> int:
    async with stemme.client.post(f"/chat/{token}", data={"text": text},
                                  allow_redirects=False) as response:
        return response.status


@pytest.mark.parametrize("how", ["api", "stop"])
async def test_a_withdrawn_persons_web_chat_link_answers_like_a_wrong_one(
    stemme: Stemme, how: str
) -> None:
    child, token = stemme.add("child", "webchat")
    assert token
    assert (await _page(stemme, token))[0] == 200

    # Act: the caseworker withdraws the child (API), or the child writes STOP on the page.
    if how == "api":
        status, _ = await api(stemme, f"/cases/{stemme.case_id}/participants/{child}/withdraw")
        assert status == 200
    else:
        assert await _post(stemme, token, "STOP") == 303
        await stemme.settle()

    # Assert: the page and its form answer exactly as for a code never issued.
    assert stemme.participant(child).status == "withdrawn"
    assert await _page(stemme, token) == await _wrong_page(stemme)
    assert await _post(stemme, token, "hej") == 404
    [unlinked] = audit(stemme, "participant.unlink", child)
    assert unlinked.detail == "webchat;by=withdrawal;invites=1"


async def test_an_old_web_chat_link_stops_after_a_new_invite(stemme: Stemme) -> None:
    child, old = stemme.add("child", "webchat")
    assert old and (await _page(stemme, old))[0] == 200

    made = await new_invite(stemme, child)

    assert made["invite_url"] == f"{PUBLIC_URL}/chat/{made['invite_code']}"
    assert await _page(stemme, old) == await _wrong_page(stemme)
    assert await _post(stemme, old, "hej") == 404
    assert (await _page(stemme, made["invite_code"]))[0] == 200
    assert [e.detail for e in audit(stemme, "invite.create", child)] == [
        "channel=webchat;revoked=1"]
    assert [e.detail for e in audit(stemme, "participant.unlink", child)] == [
        "webchat;by=new_invite"]


async def test_the_telegram_invite_link_names_the_bot_get_me_answers_with(
    stemme: Stemme, fake_telegram: FakeTelegramAPI
) -> None:
    status, added = await api(stemme, f"/cases/{stemme.case_id}/participants",
                              {"role": "child", "channel": "telegram"})
    again = await new_invite(stemme, added["participant"]["participant_id"])

    bot = load_fixture("telegram", "get_me.json")["result"]["username"]
    assert status == 201
    assert added["invite_url"] == f"https://t.me/{bot}?start={added['invite_code']}"
    assert again["invite_url"] == f"https://t.me/{bot}?start={again['invite_code']}"
    # Asked once, when the channel started; kept since.
    assert len(fake_telegram.calls("getMe")) == 1


async def test_a_sms_participant_gets_no_invite(stemme: Stemme) -> None:
    parent, _ = stemme.add("parent", "sms", phone="+4520304050")

    status, error = await api(stemme, f"/cases/{stemme.case_id}/participants/{parent}/invite")

    assert status == 422 and error["error"]


@pytest.mark.parametrize("comes_back", ["unblocks the bot", "writes again"])
async def test_an_unblocked_chat_is_reachable_again(
    stemme: Stemme, fake_telegram: FakeTelegramAPI, comes_back: str
) -> None:
    # Arrange: a linked child who agreed; the bot is blocked, so a question bounces (403).
    child, token = stemme.add("child", "telegram")
    assert token
    await open_deep_link(stemme, CHAT, token, 1)
    fake_telegram.inject(Fault.blocked(), times=None)
    with Session(stemme.rt.engine) as session:
        stemme.services.surveys.start(session, session.get(Participant, child), utcnow())
        session.commit()
    await stemme.settle()
    assert stemme.participant(child).status == "unreachable"
    fake_telegram.clear_faults()
    agreements_before = stemme.count(Consent, participant_id=child)

    # Act: Telegram says the child unblocked the bot, or the child simply writes.
    if comes_back == "unblocks the bot":
        update = load_fixture("telegram", "update_my_chat_member_member.json")
        update["my_chat_member"]["chat"]["id"] = update["my_chat_member"]["from"]["id"] = CHAT
    else:
        update = telegram_update("update_message", update_id=7, chat_id=CHAT, text="hej igen")
    assert await stemme.post_telegram(update) == 200
    await stemme.settle()
    sent_before = len(texts(fake_telegram, CHAT))
    with Session(stemme.rt.engine) as session:
        stemme.services.surveys.start(session, session.get(Participant, child), utcnow())
        session.commit()
    await stemme.settle()

    # Assert: reachable on what was agreed before (nothing new asked for), audited, and the
    # next question arrives.
    assert stemme.participant(child).status == "active"
    assert stemme.count(Consent, participant_id=child) == agreements_before
    how = "unblocked" if comes_back == "unblocks the bot" else "wrote"
    assert [e.detail for e in audit(stemme, "participant.reachable", child)] == [
        f"telegram:{how}"]
    assert len(texts(fake_telegram, CHAT)) > sent_before


async def test_a_withdrawn_child_who_unblocks_the_bot_stays_withdrawn(
    stemme: Stemme, fake_telegram: FakeTelegramAPI
) -> None:
    child, token = stemme.add("child", "telegram")
    assert token
    await open_deep_link(stemme, CHAT, token, 1)
    await api(stemme, f"/cases/{stemme.case_id}/participants/{child}/withdraw")
    blocked = load_fixture("telegram", "update_my_chat_member_kicked.json")
    unblocked = load_fixture("telegram", "update_my_chat_member_member.json")
    for update in (blocked, unblocked):
        update["my_chat_member"]["chat"]["id"] = CHAT
        assert await stemme.post_telegram(update) == 200
        await stemme.settle()

    assert stemme.participant(child).status == "withdrawn"
