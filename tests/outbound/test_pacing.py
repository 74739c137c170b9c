"""Per-chat pacing: a short burst goes at once, then about one message a second."""

from __future__ import annotations

from bot.outbound.pacing import Pacer


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def send_when_ready(pacer: Pacer, clock: Clock, address: str) -> float:
    """Move the clock to the address's slot, then book it (no real sleep)."""
    clock.now = max(clock.now, pacer.ready_at(address))
    await pacer.wait(address)
    return clock.now


async def test_a_greeting_and_its_question_go_to_one_chat_at_once() -> None:
    clock = Clock()
    pacer = Pacer(None, per_address=1.0, burst=3, clock=clock)

    times = [await send_when_ready(pacer, clock, "telegram:1") for _ in range(3)]

    assert times == [1000.0, 1000.0, 1000.0]


async def test_after_the_burst_a_chat_waits_and_stays_under_one_a_second() -> None:
    clock = Clock()
    pacer = Pacer(None, per_address=1.0, burst=3, clock=clock)

    times = [await send_when_ready(pacer, clock, "telegram:1") for _ in range(90)]

    assert times[3] - times[0] >= 3.0  # never more than 3 in any 3 seconds
    assert all(times[i + 3] - times[i] >= 3.0 for i in range(len(times) - 3))
    in_first_minute = [t for t in times if t - times[0] < 60.0]
    assert len(in_first_minute) <= 66  # at most 1.1 a second over a minute


async def test_other_chats_are_not_held_by_one_chat_s_pacing() -> None:
    clock = Clock()
    pacer = Pacer(None, per_address=1.0, burst=3, clock=clock)
    for _ in range(3):
        await send_when_ready(pacer, clock, "telegram:1")

    assert pacer.ready_at("telegram:2") == clock.now
    assert pacer.ready_at("telegram:1") > clock.now


async def test_retry_after_holds_the_chat_back() -> None:
    clock = Clock()
    pacer = Pacer(None, per_address=1.0, burst=3, clock=clock)

    pacer.push_back("telegram:1", 5.0)

    assert pacer.ready_at("telegram:1") == clock.now + 5.0
