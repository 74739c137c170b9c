"""A child's words through the real webhooks: kept, heard, flagged, and shown only to the case's
caseworker. Telegram, web chat and SMS, with fake providers over real HTTP."""

from __future__ import annotations

import re
from typing import Any

from sqlmodel import Session, col, select

from dashboard import accounts
from storage.models import Alert, AuditEntry, Participant, utcnow
from storage.repo.users import create_user, user_by_email
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.twilio_api import FakeTwilioAPI
from tests.fakes.webhooks import telegram_update
from tests.pipeline.harness import Stemme, until

CHAT = 5557001
PHONE = "+4520304051"



def start_survey(stemme: Stemme, pid: str) -> None:
    with Session(stemme.rt.engine) as session:
        stemme.services.surveys.start(session, session.get(Participant, pid), utcnow())
        session.commit()


async def linked_child(stemme: Stemme) -> str:
    """A child on Telegram, linked by deep link, with a survey running."""
    child, token = stemme.add("child", "telegram")
    start = telegram_update("update_start", update_id=1, text=f"/start {token}", chat_id=CHAT)
    assert await stemme.post_telegram(start) == 200
    await stemme.settle()
    start_survey(stemme, child)
    await stemme.settle()
    return child


async def write(stemme: Stemme, text: str, update_id: int) -> None:
    update = telegram_update("update_message", update_id=update_id, text=text, chat_id=CHAT)
    assert await stemme.post_telegram(update) == 200
    await stemme.settle()


def token_for(stemme: Stemme, email: str) -> str:
    with Session(stemme.rt.engine) as session:
        user = user_by_email(session, email) or create_user(
            session, email=email, role="caseworker", password=None)
        _, token = accounts.create_api_token(session, user, name="t", created_by=email,
                                             now=utcnow())
        session.commit()
        return token


def caseworker_email(stemme: Stemme) -> str:
    from storage.models import Case, User

    with Session(stemme.rt.engine) as session:
        case = session.get(Case, stemme.case_id)
        assert case is not None
        user = session.get(User, case.caseworker_id)
        assert user is not None
        return user.email


async def api(stemme: Stemme, path: str, token: str) -> tuple[int, Any]:
    async with stemme.client.get(path, headers={"Authorization": f"Bearer {token}"}) as resp:
        return resp.status, await resp.json()


def safety_alerts(stemme: Stemme) -> list[Alert]:
    with Session(stemme.rt.engine) as session:
        return list(session.exec(select(Alert).where(Alert.rule == "safety")
                                 .order_by(col(Alert.raised_at))).all())


async def test_a_risk_message_mid_survey_is_answered_flagged_and_shown_to_its_caseworker_only(
    stemme: Stemme, fake_telegram: FakeTelegramAPI
) -> None:
    # Arrange: a child mid-survey, its caseworker and another caseworker with API tokens.
    await linked_child(stemme)
    before = len(fake_telegram.sent_messages(CHAT))
    own = token_for(stemme, caseworker_email(stemme))
    other = token_for(stemme, "another@kommune.dk")

    # Act: the child writes as children write.
    await write(stemme, "jeg gidder ik leve mere", 2)

    # Assert: the reply for the concern in the same round trip, and no push to go on.
    replies = [m.params["text"] for m in fake_telegram.sent_messages(CHAT)[before:]]
    assert len(replies) == 2
    assert "112" in replies[0] and "116 111" in replies[0] and "ingen læser med" in replies[0]
    assert "behøver ikke" in replies[1]
    # An urgent alert with its category and the child's words, for its own caseworker.
    [alert] = safety_alerts(stemme)
    assert alert.severity == "urgent" and alert.free_text_id is not None
    status, body = await api(stemme, f"/api/v1/cases/{stemme.case_id}/alerts", own)
    assert status == 200
    [shown] = [a for a in body["alerts"] if a["rule"] == "safety"]
    assert shown["category"] == "suicide" and shown["words"] == "jeg gidder ik leve mere"
    assert shown["participant_role"] == "child"
    # Another caseworker learns nothing, not even that the case exists.
    status, _ = await api(stemme, f"/api/v1/cases/{stemme.case_id}/alerts", other)
    assert status == 404
    # The view of the words is in the audit log under the caseworker's e-mail.
    with Session(stemme.rt.engine) as session:
        views = session.exec(select(AuditEntry).where(AuditEntry.action == "case.view")).all()
    assert any(v.actor == caseworker_email(stemme) and "alerts" in v.detail for v in views)


async def test_the_help_button_in_telegram_raises_an_urgent_alert(
    stemme: Stemme, fake_telegram: FakeTelegramAPI
) -> None:
    child = await linked_child(stemme)
    keyboard = fake_telegram.sent_messages(CHAT)[-1].params["reply_markup"]["inline_keyboard"]
    assert keyboard[-1][0]["callback_data"] == "unsafe"

    update = telegram_update("update_callback_query", update_id=3, data="unsafe",
                             chat_id=CHAT)
    update["callback_query"]["message"]["message_id"] = int(
        stemme.last_provider_message_id(child))
    assert await stemme.post_telegram(update) == 200
    await stemme.settle()

    [alert] = safety_alerts(stemme)
    assert alert.severity == "urgent" and alert.free_text_id is None
    own = token_for(stemme, caseworker_email(stemme))
    _, body = await api(stemme, f"/api/v1/cases/{stemme.case_id}/alerts", own)
    assert [a["category"] for a in body["alerts"] if a["rule"] == "safety"] == [
        "asked_for_help"]
    assert "112" in fake_telegram.sent_messages(CHAT)[-2].params["text"]


async def test_the_help_button_on_the_web_chat_page_raises_an_urgent_alert(
    stemme: Stemme
) -> None:
    child, token = stemme.add("child", "webchat")
    start_survey(stemme, child)
    await stemme.settle()
    async with stemme.client.get(f"/chat/{token}") as response:
        page = await response.text()
    form = re.search(r'<form method="post" class="aside">\s*<input type="hidden" '
                     r'name="msg_id" value="([^"]+)">', page)
    assert form is not None and 'value="unsafe"' in page

    async with stemme.client.post(f"/chat/{token}", data={"choice": "unsafe",
                                                         "msg_id": form[1]},
                                  allow_redirects=False) as response:
        assert response.status == 303
    await stemme.settle()

    assert len(safety_alerts(stemme)) == 1
    async with stemme.client.get(f"/chat/{token}") as response:
        assert "116 111" in await response.text()


async def test_the_sms_word_raises_an_urgent_alert(
    stemme: Stemme, fake_twilio: FakeTwilioAPI
) -> None:
    parent, _ = stemme.add("parent", "sms", phone="+45 20 30 40 51")
    start_survey(stemme, parent)
    await stemme.settle()
    asked = len(fake_twilio.created(PHONE))

    assert await stemme.post_sms("SOS", PHONE, sid="SM" + "5" * 32) == 200
    await stemme.settle()

    assert len(safety_alerts(stemme)) == 1
    # SMS is paced at about a segment a second: the reply and the pause follow.
    await until(lambda: len(fake_twilio.created(PHONE)) >= asked + 2)
    reply = fake_twilio.created(PHONE)[asked].params["Body"]
    assert "112" in reply


async def test_words_that_raise_no_alert_are_still_kept_and_shown(
    stemme: Stemme, fake_telegram: FakeTelegramAPI
) -> None:
    await linked_child(stemme)

    await write(stemme, "jeg er så ked af det hele tiden", 4)
    await write(stemme, "hjælp mig", 5)

    own = token_for(stemme, caseworker_email(stemme))
    status, body = await api(stemme, f"/api/v1/cases/{stemme.case_id}/messages", own)
    assert status == 200
    texts = [m["text"] for m in body]
    assert "jeg er så ked af det hele tiden" in texts and "hjælp mig" in texts
    assert all(m["rater_role"] == "child" for m in body)
