"""Closing a case through the API, end to end on the fake providers: the sweep asks nobody, a
due reminder is not sent, each participant who agreed hears one neutral goodbye (nobody who
said STOP); reopened, the case is asked again and nothing that fell due while closed is."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import Session, select

from bot.flows.gsm7 import segments
from bot.i18n import t
from casework.sessions import add_sessions
from consent.withdrawal import withdraw
from dashboard import accounts
from storage.models import Case, DuePrompt, Meeting, OutboxMessage, Participant, User, utcnow
from storage.repo import cases
from tests.pipeline.harness import Stemme

PARENT, TEACHER = "+4520304050", "+4530405060"
CHAT = 4242


async def api(stemme: Stemme, path: str, body: dict[str, Any] | None = None) -> int:
    """POST to the API as the case's caseworker."""
    with Session(stemme.rt.engine) as session:
        case = session.get(Case, stemme.case_id)
        user = session.get(User, case.caseworker_id if case else "")
        assert user is not None
        _, token = accounts.create_api_token(session, user, name="cms", created_by="test",
                                             now=utcnow())
        session.commit()
    async with stemme.client.post(f"/api/v1/cases/{stemme.case_id}{path}", json=body or {},
                                  headers={"Authorization": f"Bearer {token}"}) as resp:
        return resp.status


def raters(stemme: Stemme) -> tuple[str, str, str]:
    """A child on Telegram (linked), a parent on SMS and a teacher on SMS who said STOP."""
    child, _ = stemme.add("child", "telegram")
    parent, _ = stemme.add("parent", "sms", phone=PARENT)
    teacher, _ = stemme.add("teacher", "sms", phone=TEACHER)
    with Session(stemme.rt.engine) as session:
        person = session.get(Participant, child)
        assert person is not None
        cases.link_chat(session, stemme.rt.vault, stemme.rt.index, person, CHAT)
        stopped = session.get(Participant, teacher)
        assert stopped is not None
        withdraw(session, stopped, at=utcnow(), via="sms")
        session.commit()
    return child, parent, teacher


def reminders(stemme: Stemme) -> list[OutboxMessage]:
    with Session(stemme.rt.engine) as session:
        return list(session.exec(select(OutboxMessage).where(
            OutboxMessage.purpose == "reminder")).all())


async def test_a_closed_case_asks_nobody_and_says_one_neutral_goodbye_each(
    stemme: Stemme,
) -> None:
    # Arrange: the parent is in a survey whose reminder falls due tomorrow; the child is due
    # to be asked now.
    child, parent, _ = raters(stemme)
    now = utcnow()
    with Session(stemme.rt.engine) as session:
        stemme.services.surveys.start(session, session.get(Participant, parent), now,
                                      trigger="reply")
        session.commit()
    await stemme.settle()
    asked_parent = len(stemme.tw.created(PARENT))
    with Session(stemme.rt.engine) as session:
        case = cases.get_case(session, stemme.case_id)
        add_sessions(session, case, at=now - timedelta(hours=2), minutes=45, every=None,
                     until=None, zone=stemme.rt.settings.zone, actor="cw", now=now)
        session.commit()

    # Act: closed through the API; the sweep runs now and when the reminder was due.
    closed = await api(stemme, "/close", {"reason": "Foranstaltningen er slut"})
    swept_now = stemme.services.sweep(now)
    swept_later = stemme.services.sweep(now + timedelta(hours=25))
    await stemme.settle()

    # Assert
    assert closed == 200
    assert swept_now["started"] == swept_later["started"] == swept_later["reminded"] == 0
    assert reminders(stemme) == []
    goodbye = [t("case.goodbye", "da")]
    assert [m.params["text"] for m in stemme.tg.sent_messages(CHAT)] == goodbye
    assert stemme.tw.bodies(PARENT)[asked_parent:] == goodbye
    assert stemme.tw.created(TEACHER) == []
    assert stemme.count(OutboxMessage, participant_id=child, purpose="survey") == 0
    # Neutral: no name, no case; within two GSM-7 segments in either language.
    assert "Sofie" not in goodbye[0] and "K-1" not in goodbye[0]
    for language in ("da", "en"):
        encoding, count = segments(t("case.goodbye", language))
        assert encoding == "GSM-7" and count <= 2


async def test_a_reopened_case_is_asked_again_but_not_for_what_fell_due_while_closed(
    stemme: Stemme,
) -> None:
    # Arrange: a session held yesterday (its prompt was never planned) and one tomorrow;
    # the case is closed, then reopened.
    parent, _ = stemme.add("parent", "sms", phone=PARENT)
    now = utcnow()
    with Session(stemme.rt.engine, expire_on_commit=False) as session:
        case = cases.get_case(session, stemme.case_id)
        zone = stemme.rt.settings.zone
        held = add_sessions(session, case, at=now - timedelta(hours=20), minutes=45,
                            every=None, until=None, zone=zone, actor="cw", now=now)[0]
        coming = add_sessions(session, case, at=now + timedelta(days=1), minutes=45,
                              every=None, until=None, zone=zone, actor="cw", now=now)[0]
        session.commit()
    assert await api(stemme, "/close") == 200

    # Act
    reopened = await api(stemme, "/reopen")
    swept_now = stemme.services.sweep(now + timedelta(seconds=1))
    await stemme.settle()
    swept_after = stemme.services.sweep(now + timedelta(days=1, hours=1))

    # Assert: nothing about yesterday's session, the goodbye unsent, tomorrow's asked.
    assert reopened == 200 and swept_now["started"] == 0
    assert stemme.tw.created(PARENT) == []
    assert swept_after["started"] == 1
    with Session(stemme.rt.engine) as session:
        prompts = session.exec(select(DuePrompt).where(DuePrompt.participant_id == parent))
        assert [(p.session_id, p.status) for p in prompts] == [(coming.id, "sent")]
        assert session.get(Meeting, held.id) is not None
