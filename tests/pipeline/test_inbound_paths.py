"""Inbound paths besides the end-to-end specs: the web-chat page, guessed deep links, and
Twilio's delivery status callbacks, each over real HTTP through the whole app."""

from __future__ import annotations

import re

from sqlmodel import Session, select

from storage.models import OutboxMessage, Participant, utcnow
from tests.fakes.fixtures import TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.twilio_api import FakeTwilioAPI
from tests.fakes.webhooks import telegram_update, twilio_form, twilio_request
from tests.pipeline.harness import PUBLIC_URL, Stemme

PHONE = "+4520304050"



def _start_survey(stemme: Stemme, pid: str) -> None:
    with Session(stemme.rt.engine) as session:
        stemme.services.surveys.start(session, session.get(Participant, pid), utcnow())
        session.commit()


async def _page(stemme: Stemme, token: str) -> str:
    async with stemme.client.get(f"/chat/{token}") as response:
        assert response.status == 200
        return await response.text()


async def test_a_child_answers_on_the_web_chat_page_and_sees_the_next_question(
    stemme: Stemme
) -> None:
    # Arrange: a child on web chat with a survey running; its first question is on the page.
    child, token = stemme.add("child", "webchat")
    assert token
    _start_survey(stemme, child)
    await stemme.settle()
    first = await _page(stemme, token)
    assert 'name="choice" value="v:7"' in first

    # Act: tap 7, as a browser without JavaScript posts the form.
    msg_id = re.search(r'name="msg_id" value="([^"]+)"', first)
    assert msg_id is not None
    async with stemme.client.post(f"/chat/{token}", data={"choice": "v:7", "msg_id": msg_id[1]},
                                  allow_redirects=False) as response:
        status, location = response.status, response.headers.get("Location")
    after = await _page(stemme, token)

    # Assert: answered, stored sealed, and the next question is shown after a redirect.
    assert status == 303 and location == f"/chat/{token}"
    assert [score for _, _, score in stemme.answers(child)] == [7]
    assert after.count('value="v:7"') == 1 and after != first


async def test_guessing_deep_link_tokens_from_one_chat_is_throttled(
    stemme: Stemme, fake_telegram: FakeTelegramAPI
) -> None:
    child, token = stemme.add("child", "telegram")
    guesser, other = 6101, 6102

    # Act: five wrong tokens from one chat, then the right one from the same chat.
    for n in range(5):
        wrong = telegram_update("update_start", update_id=100 + n, chat_id=guesser,
                                text=f"/start {'Wrong' + str(n) + 'x' * 26}")
        assert await stemme.post_telegram(wrong) == 200
        await stemme.settle()
    right = telegram_update("update_start", update_id=200, chat_id=guesser, text=f"/start {token}")
    assert await stemme.post_telegram(right) == 200
    await stemme.settle()
    throttled = stemme.participant(child).chat_index
    # The same token from another chat still works: the limit is the guessing chat's.
    elsewhere = telegram_update("update_start", update_id=300, chat_id=other,
                                text=f"/start {token}")
    assert await stemme.post_telegram(elsewhere) == 200
    await stemme.settle()

    # Assert: the guesser got one generic reply and no link; the other chat is linked.
    assert throttled is None
    assert len(fake_telegram.sent_messages(guesser)) == 1
    assert stemme.participant(child).chat_index == stemme.rt.index.chat(str(other))


async def test_twilio_status_callbacks_update_the_outbox_and_21610_withdraws_the_parent(
    stemme: Stemme, fake_twilio: FakeTwilioAPI
) -> None:
    parent, _ = stemme.add("parent", "sms", phone=PHONE)
    _start_survey(stemme, parent)
    await stemme.settle()
    with Session(stemme.rt.engine) as session:
        sids = [row.provider_message_id for row in session.exec(
            select(OutboxMessage).where(OutboxMessage.participant_id == parent)
            .order_by(OutboxMessage.created_at))]
    assert len(sids) == 2 and all(sids)

    async def status(name: str, sid: str) -> int:
        form = twilio_form(name, MessageSid=sid, SmsSid=sid, To=PHONE, From=TWILIO_FROM,
                           AccountSid=TWILIO_ACCOUNT_SID)
        headers, body = twilio_request(PUBLIC_URL + "/webhooks/twilio/status", form,
                                       TWILIO_AUTH_TOKEN)
        async with stemme.client.post("/webhooks/twilio/status", data=body,
                                      headers=headers) as response:
            return response.status

    # Act: the first message was delivered; the second bounced because the parent opted out.
    delivered = await status("status_delivered", sids[0] or "")
    opted_out = await status("status_undelivered_21610", sids[1] or "")

    # Assert
    assert (delivered, opted_out) == (200, 200)
    with Session(stemme.rt.engine) as session:
        rows = {row.provider_message_id: row for row in session.exec(select(OutboxMessage))}
    assert rows[sids[0]].status == "delivered"
    assert rows[sids[1]].status == "failed" and rows[sids[1]].last_error == "twilio:21610"
    assert stemme.participant(parent).status == "withdrawn"
