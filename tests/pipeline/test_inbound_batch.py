"""Inbound messages that arrive together are processed in one transaction, as if one by one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select
from structlog.testing import capture_logs

from bot.channels.base import Inbound
from bot.conversation.host import Surveys
from bot.inbound.router import InboundRouter
from bot.runtime.writer import store_each
from consent import agreements
from storage.blind_index import BlindIndex
from storage.models import (
    Answer,
    Conversation,
    InboxMessage,
    OutboxMessage,
    Participant,
    utcnow,
)
from storage.repo import cases, invites, outbox
from storage.repo.answers import participant_answers
from storage.repo.users import create_user
from storage.vault import Vault


@dataclass(frozen=True)
class Family:
    """A case with a 12-year-old on Telegram and a parent on SMS, both with a survey running."""

    child_id: str
    parent_id: str
    chat: str
    phone: str


def make_family(engine: Engine, vault: Vault, index: BlindIndex, surveys: Surveys,
                n: int) -> Family:
    now = utcnow() - timedelta(minutes=5)
    with Session(engine, expire_on_commit=False) as session:
        worker = create_user(session, email=f"cw{n}@example.org", role="caseworker",
                             password=None)
        case = cases.create_case(session, vault, ref=f"K-{n}", child_name="Sofie",
                                 birth_date=date(2014, 5, 31), caseworker_id=worker.id)
        child = cases.add_participant(session, vault, index, case=case, role="child",
                                      channel="telegram")
        cases.link_chat(session, vault, index, child, 5000 + n)
        parent = cases.add_participant(session, vault, index, case=case, role="parent",
                                       channel="sms", phone=f"+452100000{n}")
        agreements.record(session, child, action="given", given_by="guardian",
                          recorded_by="cw", at=now, age_at_time=12)
        for person in (child, parent):
            agreements.record(session, person, action="given", given_by="self",
                              recorded_by="participant", at=now, age_at_time=12)
        session.commit()
        for person in (child, parent):
            surveys.start(session, person, now)
        session.commit()
        return Family(child.id, parent.id, f"telegram:{5000 + n}", f"tel:+452100000{n}")


def router_and_family(engine: Engine, vault: Vault, index: BlindIndex,
                      n: int) -> tuple[InboundRouter, Family]:
    surveys = Surveys(vault)
    router = InboundRouter(engine=engine, vault=vault, index=index, surveys=surveys)
    return router, make_family(engine, vault, index, surveys, n)


def _store(engine: Engine, vault: Vault, inbounds: list[Inbound]) -> list[str]:
    return [row_id for row_id in store_each(engine, vault, inbounds) if row_id]


def text_from(address: str, text: str, sid: str) -> Inbound:
    provider = "telegram" if address.startswith("telegram:") else "sms"
    return Inbound(provider=provider, provider_id=sid, address=address, kind="text",
                   received_at=utcnow(), text=text)


# Interleaved, with repeats from one sender: each later message depends on the one before.
def script(family: Family, tag: str) -> list[Inbound]:
    lines = [(family.phone, "7 6 8 9"), (family.chat, "7"), (family.phone, "STOP"),
             (family.chat, "8"), (family.phone, "8 8 9 9"), (family.chat, "hej"),
             ("tel:+4599999999", "hej")]
    return [text_from(address, text, f"{tag}-{n}") for n, (address, text) in enumerate(lines)]


def outcome(engine: Engine, vault: Vault, family: Family) -> dict[str, Any]:
    """Everything the messages changed for one family, free of ids and times."""
    people = (family.child_id, family.parent_id)
    with Session(engine) as session:
        answers = sorted((p == family.child_id, a.instrument, a.item, a.score) for p in people
                         for a in participant_answers(session, vault, p))
        statuses = sorted((c.participant_id == family.child_id, c.status, c.version)
                          for c in session.exec(select(Conversation).where(
                              col(Conversation.participant_id).in_(people))))
        rows = session.exec(select(OutboxMessage).where(
            col(OutboxMessage.participant_id).in_(people))
            .order_by(col(OutboxMessage.not_before), col(OutboxMessage.created_at))).all()
        texts = [(row.participant_id == family.child_id, row.purpose,
                  outbox.open_payload(session, vault, row)["message"]["text"]) for row in rows]
        withdrawn = [session.get(Participant, p).status for p in people]  # type: ignore[union-attr]
    return {"answers": answers, "conversations": statuses, "messages": texts,
            "status": withdrawn}


def test_a_batch_ends_as_the_same_messages_one_by_one(
        engine: Engine, vault: Vault, index: BlindIndex) -> None:
    # Arrange: two identical families; one gets its messages one by one, one in a batch.
    surveys = Surveys(vault)
    router = InboundRouter(engine=engine, vault=vault, index=index, surveys=surveys)
    alone, together = (make_family(engine, vault, index, surveys, n) for n in (1, 2))

    # Act
    for inbound in script(alone, "alone"):
        for row_id in _store(engine, vault, [inbound]):
            router.process(row_id)
    ids = _store(engine, vault, script(together, "batch"))
    with capture_logs() as logs:
        effects = router.process_many(ids)

    # Assert: the same answers, survey states, replies (in order) and withdrawals.
    expected = outcome(engine, vault, alone)
    assert outcome(engine, vault, together) == expected
    assert len(expected["answers"]) == 6  # the parent's four items, the child's two
    assert expected["status"] == ["active", "withdrawn"]
    assert all(e is not None for e in effects) and len(effects) == 7
    assert not [e for e in logs if e["log_level"] == "warning"]  # one transaction, no fallback
    with Session(engine) as session:
        assert {row.status for row in session.exec(select(InboxMessage))} == {"done"}
        generic = session.exec(select(OutboxMessage).where(
            col(OutboxMessage.participant_id).is_(None))).all()
    assert len(generic) == 1  # the unknown sender: one generic reply for the day, not two


def test_a_bad_message_costs_its_batch_nothing_but_time(
        engine: Engine, vault: Vault, index: BlindIndex) -> None:
    # Arrange: three stored messages, the middle one's payload unreadable.
    router, family = router_and_family(engine, vault, index, 3)
    ids = _store(engine, vault, [text_from(family.phone, "7 6 8 9", "a"),
                                    text_from(family.chat, "7", "b"),
                                    text_from(family.chat, "8", "c")])
    with Session(engine) as session:
        bad = session.get(InboxMessage, ids[1])
        assert bad is not None and bad.payload is not None
        bad.payload = bad.payload[:-1] + bytes([bad.payload[-1] ^ 1])  # one bit flipped
        session.add(bad)
        session.commit()

    # Act
    effects = router.process_many(ids)

    # Assert: the others were processed; the bad one waits, counted, for an operator.
    assert effects[0] is not None and effects[1] is None and effects[2] is not None
    with Session(engine) as session:
        rows = [session.get(InboxMessage, row_id) for row_id in ids]
        assert [r.status for r in rows if r] == ["done", "new", "done"]
        assert rows[1] is not None and rows[1].attempts == 1 and rows[1].error
        assert len(session.exec(select(Answer).where(
            Answer.participant_id == family.parent_id)).all()) == 4


def test_a_row_already_taken_is_not_processed_again_by_a_batch(
        engine: Engine, vault: Vault, index: BlindIndex) -> None:
    router, family = router_and_family(engine, vault, index, 4)
    ids = _store(engine, vault, [text_from(family.phone, "7 6 8 9", "x"),
                                    text_from(family.chat, "7", "y")])
    assert router.process(ids[0]) is not None

    effects = router.process_many(ids)

    assert effects[0] is None and effects[1] is not None
    with Session(engine) as session:
        assert len(session.exec(select(Answer).where(
            Answer.participant_id == family.parent_id)).all()) == 4


def test_a_sender_that_is_no_phone_number_is_done_with_quietly_not_retried(
        engine: Engine, vault: Vault, index: BlindIndex) -> None:
    # Arrange: a short code and a named sender, among a parent's answer.
    router, family = router_and_family(engine, vault, index, 5)
    ids = _store(engine, vault, [text_from("tel:Telia", "Din regning", "n1"),
                                    text_from(family.phone, "7 6 8 9", "n2"),
                                    text_from("tel:1234", "Kode 99", "n3")])

    # Act
    with capture_logs() as logs:
        effects = router.process_many(ids)

    # Assert: all done in the one batch, nothing queued for them, the parent answered.
    assert [e is not None for e in effects] == [True, True, True]
    assert not [e for e in logs if e["log_level"] in ("warning", "error")]
    with Session(engine) as session:
        assert {r.status for r in session.exec(select(InboxMessage))} == {"done"}
        assert session.exec(select(OutboxMessage).where(
            col(OutboxMessage.participant_id).is_(None))).all() == []
        assert len(session.exec(select(Answer).where(
            Answer.participant_id == family.parent_id)).all()) == 4


def test_a_new_chat_linking_mid_batch_sees_the_step_an_earlier_message_took(
        engine: Engine, vault: Vault, index: BlindIndex) -> None:
    # Arrange: the child answers from their chat, then links a new phone's chat with a fresh
    # invite in the same breath (which starts a new survey, replacing the running one).
    surveys = Surveys(vault)
    router = InboundRouter(engine=engine, vault=vault, index=index, surveys=surveys)
    alone, together = (make_family(engine, vault, index, surveys, n) for n in (6, 7))

    def script_with_link(family: Family, tag: str, chat: int) -> list[Inbound]:
        with Session(engine) as session:
            child = session.get(Participant, family.child_id)
            assert child is not None
            token = invites.create_invite(session, child, now=utcnow())
            session.commit()
        link = Inbound(provider="telegram", provider_id=f"{tag}-link",
                       address=f"telegram:{chat}", kind="command_start",
                       received_at=utcnow(), text=f"/start {token}", command="start",
                       start_token=token)
        return [text_from(family.chat, "7", f"{tag}-answer"), link]

    # Act
    for inbound in script_with_link(alone, "alone", 7006):
        for row_id in _store(engine, vault, [inbound]):
            router.process(row_id)
    with capture_logs() as logs:
        router.process_many(_store(engine, vault, script_with_link(together, "batch", 7007)))

    # Assert: the same surveys (one replaced after its answer, one new) and replies.
    assert not [e for e in logs if e["log_level"] == "warning"]  # no fallback to one by one
    expected = outcome(engine, vault, alone)
    assert outcome(engine, vault, together) == expected
    assert sorted(status for child, status, _ in expected["conversations"] if child) == [
        "active", "replaced"]
