"""The dispatcher: gated at send time, paced to provider limits, retried, never lost."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlmodel import Session, func, select

from bot.channels.sms.channel import TwilioSmsChannel
from bot.channels.telegram.channel import TelegramChannel
from bot.channels.wire import message_to_dict
from bot.flows.messages import Choice, OutgoingMessage
from bot.outbound.config import DispatchConfig
from bot.outbound.dispatcher import Dispatcher
from consent.withdrawal import withdraw
from storage.models import Case, OutboxMessage, utcnow
from storage.repo import outbox, outbox_queue
from tests.fakes.server import Fault, max_in_window
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.twilio_api import FakeTwilioAPI
from tests.pipeline.conftest import World

SCALE = OutgoingMessage("Hvordan har du det?", tuple(Choice(str(i), f"v:{i}") for i in range(11)),
                        "scale")


def queue(world: World, pid: str, channel: str, n: int = 1, purpose: str = "survey",
          text: str = "Hej") -> None:
    with Session(world.engine) as session:
        person = world.participant(session, pid)
        for i in range(n):
            outbox_queue.enqueue(session, world.vault, participant=person, channel=channel,
                           message=message_to_dict(OutgoingMessage(f"{text} {i}")),
                           purpose=purpose, key=f"{pid}:{purpose}:{i}")
        session.commit()


def statuses(world: World) -> dict[str, int]:
    with Session(world.engine) as session:
        rows = session.exec(select(OutboxMessage.status, func.count())
                            .group_by(OutboxMessage.status)).all()
    return {status: count for status, count in rows}


def dispatcher(world: World, **channels: object) -> Dispatcher:
    return Dispatcher(engine=world.engine, vault=world.vault, channels=channels,  # type: ignore
                      worker="test", config=DispatchConfig(base_backoff=0.01))


async def drain(d: Dispatcher, rounds: int = 50) -> None:
    for _ in range(rounds):
        if not await d.run_once():
            pending = statuses_pending(d)
            if not pending:
                return
            await asyncio.sleep(0.2)


def statuses_pending(d: Dispatcher) -> int:
    with Session(d.engine) as session:
        return int(session.exec(select(func.count()).select_from(OutboxMessage)
                                .where(OutboxMessage.status.in_(["pending", "sending"]))).one())


async def test_a_scale_prompt_reaches_the_child_with_its_keyboard(
    world: World, telegram: TelegramChannel, fake_telegram: FakeTelegramAPI
) -> None:
    with Session(world.engine) as session:
        child = world.participant(session, world.child_id)
        outbox_queue.enqueue(session, world.vault, participant=child, channel="telegram",
                       message=message_to_dict(SCALE), purpose="survey", key="k1")
        session.commit()
    await drain(dispatcher(world, telegram=telegram))
    sent = fake_telegram.sent_messages(world.chat_id)
    assert len(sent) == 1
    keyboard = sent[0].params["reply_markup"]["inline_keyboard"]
    assert [len(row) for row in keyboard] == [6, 5]
    assert statuses(world) == {"sent": 1}


async def test_the_same_idempotency_key_is_queued_once(world: World) -> None:
    queue(world, world.child_id, "telegram", 1)
    queue(world, world.child_id, "telegram", 1)
    assert statuses(world) == {"pending": 1}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_nothing_reaches_anyone_who_has_not_agreed(
    engine, vault, index, telegram: TelegramChannel, sms: TwilioSmsChannel,
    fake_telegram: FakeTelegramAPI, fake_twilio: FakeTwilioAPI,
) -> None:
    from tests.pipeline.conftest import build_world

    world = build_world(engine, vault, index, agreed=False)
    queue(world, world.child_id, "telegram", 2)
    queue(world, world.parent_id, "sms", 2, purpose="reminder")
    await drain(dispatcher(world, telegram=telegram, sms=sms))
    assert fake_telegram.sent_messages() == [] and fake_twilio.created() == []
    assert statuses(world) == {"cancelled": 4}


async def test_a_withdrawal_after_the_claim_still_sends_nothing(
    world: World, sms: TwilioSmsChannel, fake_twilio: FakeTwilioAPI
) -> None:
    queue(world, world.parent_id, "sms", 3)
    claimed = outbox.claim(world.engine, world.vault, worker="w", now=utcnow(), limit=10)
    assert len(claimed) == 3
    with Session(world.engine) as session:
        withdraw(session, world.participant(session, world.parent_id), at=utcnow(), via="test")
        session.commit()
    # The claim lease lapses (the claiming process "died"); the dispatcher picks the rows up.
    d = dispatcher(world, sms=sms)
    d.clock = lambda: utcnow() + timedelta(minutes=5)
    await drain(d)
    assert fake_twilio.created() == []
    assert statuses(world) == {"cancelled": 3}


async def test_an_ended_case_stops_its_messages(
    world: World, telegram: TelegramChannel, fake_telegram: FakeTelegramAPI
) -> None:
    queue(world, world.child_id, "telegram", 2)
    with Session(world.engine) as session:
        case = session.get(Case, world.case_id)
        case.status = "closed"
        session.add(case)
        session.commit()
    await drain(dispatcher(world, telegram=telegram))
    assert fake_telegram.sent_messages() == []


async def test_an_sms_opt_out_withdraws_the_parent_and_stops_the_rest(
    world: World, sms: TwilioSmsChannel, fake_twilio: FakeTwilioAPI
) -> None:
    fake_twilio.inject(Fault.opted_out(), times=1)
    queue(world, world.parent_id, "sms", 3)
    await drain(dispatcher(world, sms=sms))
    assert fake_twilio.created() == []
    with Session(world.engine) as session:
        assert world.participant(session, world.parent_id).status == "withdrawn"
    assert statuses(world) == {"failed": 1, "cancelled": 2}


async def test_a_blocked_bot_marks_the_child_unreachable(
    world: World, telegram: TelegramChannel, fake_telegram: FakeTelegramAPI
) -> None:
    fake_telegram.inject(Fault.blocked(), times=None)
    queue(world, world.child_id, "telegram", 2)
    await drain(dispatcher(world, telegram=telegram))
    with Session(world.engine) as session:
        assert world.participant(session, world.child_id).status == "unreachable"
    assert len(fake_telegram.calls("sendMessage")) == 1


async def test_server_errors_are_retried_until_delivered(
    world: World, sms: TwilioSmsChannel, fake_twilio: FakeTwilioAPI
) -> None:
    fake_twilio.inject(Fault.server_error(), times=2)
    queue(world, world.parent_id, "sms", 1)
    await drain(dispatcher(world, sms=sms))
    assert len(fake_twilio.created()) == 1
    assert statuses(world) == {"sent": 1}


async def test_a_message_that_keeps_failing_is_marked_failed_not_dropped(
    world: World, sms: TwilioSmsChannel, fake_twilio: FakeTwilioAPI
) -> None:
    fake_twilio.inject(Fault.server_error(), times=None)
    queue(world, world.parent_id, "sms", 1)
    d = dispatcher(world, sms=sms)
    d.config = DispatchConfig(max_attempts=3, base_backoff=0.01)
    await drain(d)
    assert statuses(world) == {"failed": 1}
    with Session(world.engine) as session:
        row = session.exec(select(OutboxMessage)).one()
    assert row.attempts == 3 and "gave up" in (row.last_error or "")


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_flood_is_paced_to_telegram_limits_and_nothing_is_lost(
    world: World, telegram: TelegramChannel, fake_telegram: FakeTelegramAPI
) -> None:
    # Arrange: 1,000 messages to 100 chats; the Bot API answers 429 three times on the way.
    with Session(world.engine) as session:
        for n in range(1000):
            chat = 1000 + n % 100
            outbox_queue.enqueue(session, world.vault, participant=None, channel="telegram",
                           message=message_to_dict(OutgoingMessage(f"besked {n}")),
                           purpose="reply", key=f"flood:{n}", address=f"telegram:{chat}")
        session.commit()
    fake_telegram.inject(Fault.rate_limited(1), times=3)

    # Act
    await drain(dispatcher(world, telegram=telegram), rounds=500)

    # Assert: every message exactly once, and within both limits.
    texts = [r.params["text"] for r in fake_telegram.sent_messages()]
    assert sorted(texts) == sorted(f"besked {n}" for n in range(1000))
    assert len([r for r in fake_telegram.calls("sendMessage") if r.status == 429]) == 3
    assert fake_telegram.max_rate("sendMessage") <= 30
    # One chat: a short burst at most (3 in any 3 s), about one a second over a minute.
    per_chat = [fake_telegram.calls("sendMessage", target=1000 + c) for c in range(100)]
    assert max(max_in_window([r.at for r in rs], 3.0) for rs in per_chat) <= 3
    assert max(max_in_window([r.at for r in rs], 60.0) for rs in per_chat) <= 66


async def test_a_reply_mid_survey_goes_before_a_backlog_of_new_prompts(
    world: World, telegram: TelegramChannel, fake_telegram: FakeTelegramAPI
) -> None:
    # Arrange: 60 new prompts to other chats queued first, then the child's next question;
    # the provider's limit binds (10 a second).
    with Session(world.engine) as session:
        for n in range(60):
            outbox_queue.enqueue(session, world.vault, participant=None, channel="telegram",
                                 message=message_to_dict(OutgoingMessage(f"prompt {n}")),
                                 purpose="survey", key=f"backlog:{n}",
                                 address=f"telegram:{2000 + n}")
        session.commit()
    queue(world, world.child_id, "telegram", purpose="reply", text="next question")
    d = Dispatcher(engine=world.engine, vault=world.vault, channels={"telegram": telegram},
                   worker="test", rates={"telegram": 10.0})

    # Act: one round of sending.
    await d.run_once()

    # Assert: the reply went in the first round, ahead of most of the backlog.
    texts = [r.params["text"] for r in fake_telegram.sent_messages()]
    assert "next question 0" in texts[:3]
    assert len(texts) < 20
