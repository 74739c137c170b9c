"""The whole pipeline over real HTTP: webhook -> inbox -> engine -> outbox -> fake provider.

Each spec runs with the inbox writer as a thread of the server and as a process of its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlmodel import Session

from storage.models import Conversation, InboxMessage, OutboxMessage, Participant, utcnow
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.twilio_api import FakeTwilioAPI
from tests.fakes.webhooks import telegram_update
from tests.pipeline.harness import Stemme, serving

CHAT = 5551234
PHONE = "+4520304050"


@pytest.fixture(params=["writer_thread", "writer_process"])
async def stemme(request: pytest.FixtureRequest, tmp_path: Path, db_url: str,
                 fake_telegram: FakeTelegramAPI,
                 fake_twilio: FakeTwilioAPI) -> AsyncIterator[Stemme]:
    async with serving(tmp_path, db_url, fake_telegram, fake_twilio,
                       writer_process=request.param == "writer_process") as app:
        yield app


def last_keyboard(tg: FakeTelegramAPI) -> list[dict[str, str]]:
    sent = tg.sent_messages(CHAT)
    markup = sent[-1].params.get("reply_markup") or {}
    return [button for row in markup.get("inline_keyboard", []) for button in row]


async def press(stemme: Stemme, pid: str, data: str, n: int) -> None:
    update = telegram_update("update_callback_query", update_id=9000 + n, data=data,
                             chat_id=CHAT)
    update["callback_query"]["id"] = f"cbq{n}"
    update["callback_query"]["message"]["message_id"] = int(stemme.last_provider_message_id(pid))
    assert await stemme.post_telegram(update) == 200
    await stemme.settle()


async def test_a_child_links_by_deep_link_and_completes_a_survey_with_buttons(
    stemme: Stemme, fake_telegram: FakeTelegramAPI
) -> None:
    child, token = stemme.add("child", "telegram", agreed=False)
    start = telegram_update("update_start", update_id=1, text=f"/start {token}", chat_id=CHAT)
    assert await stemme.post_telegram(start) == 200
    await stemme.settle()
    # First contact asks for the child's own yes before any question.
    # (with the quiet button for an adult on its own row below)
    assert [b["callback_data"] for b in last_keyboard(fake_telegram)] == ["yes", "no", "unsafe"]

    for n in range(1, 30):
        buttons = last_keyboard(fake_telegram)
        if not buttons:
            break
        answers = [b for b in buttons if b["callback_data"] != "unsafe"]
        choice = answers[0] if len(answers) <= 2 else answers[7]  # Ja / skip, or a 7
        await press(stemme, child, choice["callback_data"], n)

    scores = stemme.answers(child)
    assert [(i, s) for _, i, s in scores if i in ("me", "family", "school")] == [
        ("me", 7.0), ("family", 7.0), ("school", 7.0)]
    assert {inst for inst, _, _ in scores} == {"outcome-child", "session-child"}
    assert stemme.count(Conversation, participant_id=child, status="completed") == 1
    # Every press was answered (no spinning button), in the webhook's own answer, and its
    # keyboard removed.
    answered = [r["callback_query_id"] for r in stemme.webhook_replies
                if r["method"] == "answerCallbackQuery"]
    presses = n - 1 if not buttons else n
    assert answered == [f"cbq{i}" for i in range(1, presses + 1)] and presses >= 9
    assert len(fake_telegram.calls("editMessageReplyMarkup")) == presses
    assert not fake_telegram.calls("answerCallbackQuery")
    assert "Tak" in fake_telegram.sent_messages(CHAT)[-1].params["text"]


async def test_a_parent_completes_a_survey_by_sms(
    stemme: Stemme, fake_twilio: FakeTwilioAPI
) -> None:
    parent, _ = stemme.add("parent", "sms", phone="+45 20 30 40 50")
    with Session(stemme.rt.engine) as session:
        stemme.services.surveys.start(session, session.get(Participant, parent), utcnow())
        session.commit()
    await stemme.settle()
    first = [r.params["Body"] for r in fake_twilio.created(PHONE)]
    assert len(first) == 2 and "7 6 8 9" in first[-1]  # a greeting, then all four items

    for n, reply in enumerate(["7 6 8 9", "8 8 9 9", "nej"], start=1):
        assert await stemme.post_sms(reply, PHONE, sid=f"SM{n:032d}") == 200
        await stemme.settle()

    scores = {(instrument, item): s for instrument, item, s in stemme.answers(parent)}
    assert scores == {
        ("outcome-observer", "me"): 7, ("outcome-observer", "family"): 6,
        ("outcome-observer", "school"): 8, ("outcome-observer", "overall"): 9,
        ("session-adult", "heard"): 8, ("session-adult", "topics"): 8,
        ("session-adult", "approach"): 9, ("session-adult", "overall"): 9}
    bodies = [r.params["Body"] for r in fake_twilio.created(PHONE)]
    assert "Tak" in bodies[-1]
    assert all("Sofie" not in b for b in bodies), "an SMS must never name the child"


async def test_stop_stops_everything(
    stemme: Stemme, fake_twilio: FakeTwilioAPI
) -> None:
    parent, _ = stemme.add("parent", "sms", phone="+45 20 30 40 50")
    with Session(stemme.rt.engine) as session:
        stemme.services.surveys.start(session, session.get(Participant, parent), utcnow())
        session.commit()
    await stemme.settle()
    assert await stemme.post_sms("STOP", PHONE, sid="SM" + "1" * 32) == 200
    await stemme.settle()
    confirmation = fake_twilio.created(PHONE)[-1].params["Body"]
    before = len(fake_twilio.created(PHONE))

    # The next session's survey, a reminder sweep and a direct start all send nothing.
    with Session(stemme.rt.engine) as session:
        stemme.services.surveys.start(session, session.get(Participant, parent), utcnow())
        session.commit()
    stemme.services.sweep()
    await stemme.settle()

    assert "START" in confirmation
    assert len(fake_twilio.created(PHONE)) == before
    assert stemme.participant(parent).status == "withdrawn"


async def test_a_forged_telegram_secret_gets_403_and_stores_nothing(stemme: Stemme) -> None:
    update = telegram_update("update_message", update_id=77, text="hej", chat_id=CHAT)
    assert await stemme.post_telegram(update, secret="wrong") == 403
    assert await stemme.post_telegram(update, secret=None) == 403
    assert stemme.count(InboxMessage) == 0


async def test_a_forged_twilio_signature_gets_403_and_stores_nothing(stemme: Stemme) -> None:
    assert await stemme.post_sms("7", PHONE, sid="SM" + "2" * 32, signature="Zm9yZ2Vk") == 403
    assert stemme.count(InboxMessage) == 0


async def test_a_malformed_telegram_body_gets_400(stemme: Stemme) -> None:
    from tests.fakes.fixtures import TELEGRAM_SECRET

    async with stemme.client.post("/webhooks/telegram", data=b"{not json",
                                  headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET,
                                           "Content-Type": "application/json"}) as resp:
        assert resp.status == 400
    assert stemme.count(InboxMessage) == 0


async def test_the_same_update_posted_five_times_at_once_is_answered_once(
    stemme: Stemme, fake_telegram: FakeTelegramAPI
) -> None:
    child, token = stemme.add("child", "telegram")
    start = telegram_update("update_start", update_id=4242, text=f"/start {token}",
                            chat_id=CHAT)
    statuses = await asyncio.gather(*(stemme.post_telegram(start) for _ in range(5)))
    await stemme.settle()
    assert statuses == [200] * 5
    assert stemme.count(InboxMessage) == 1
    assert stemme.count(Conversation) == 1
    texts = [r.params["text"] for r in fake_telegram.sent_messages(CHAT)]
    assert texts and len(texts) == len(set(texts)), "each reply once"


async def test_an_unknown_sender_gets_one_generic_reply_that_reveals_nothing(
    stemme: Stemme, fake_twilio: FakeTwilioAPI
) -> None:
    for n in range(3):
        assert await stemme.post_sms(f"hej {n}", "+4599887766", sid=f"SM{n + 50:032d}") == 200
        await stemme.settle()
    replies = fake_twilio.created("+4599887766")
    assert len(replies) == 1
    assert "Sofie" not in replies[0].params["Body"] and "K-1" not in replies[0].params["Body"]


async def test_a_wrong_invite_token_gets_the_generic_reply_and_links_nothing(
    stemme: Stemme, fake_telegram: FakeTelegramAPI
) -> None:
    child, _ = stemme.add("child", "telegram")
    start = telegram_update("update_start", update_id=5, text="/start not_the_token",
                            chat_id=CHAT)
    assert await stemme.post_telegram(start) == 200
    await stemme.settle()
    assert len(fake_telegram.sent_messages(CHAT)) == 1
    assert stemme.participant(child).chat_index is None
    assert stemme.count(OutboxMessage, participant_id=child) == 0
