"""The dispatcher's policy (retries, batches, the bounds of crash recovery) and what a
provider may be asked about messages it took."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from bot.flows.messages import OutgoingMessage
from storage.repo import outbox


@runtime_checkable
class LooksUpSent(Protocol):
    """A channel whose provider can say whether a message went out (Twilio can)."""

    async def sent_matching(
        self, address: str, message: OutgoingMessage, *, since: datetime
    ) -> list[str] | None:
        """Provider ids of matching messages sent since `since`; None if it cannot be asked."""
        ...


@dataclass(frozen=True)
class DispatchConfig:
    """Retry policy, batch size and the bounds that make crash recovery safe."""

    max_attempts: int = 8
    base_backoff: float = 2.0  # seconds; doubled per attempt
    max_backoff: float = 600.0
    # Claim about this many seconds of sending at a time: short, so that what arrives next
    # (a child's next question) is claimed, replies first, soon after it is queued.
    batch_seconds: float = 1.0
    # An address whose pacing holds it longer than this goes back to the queue, instead of
    # holding up the rest of the batch.
    hold_limit: float = 0.5
    # The most one attempt (look-up plus send) may take; kept well under outbox.SEND_LEASE so a
    # lapsed "sending" lease means the request is over, not still in flight.
    attempt_timeout: float = 60.0
    recover_every: float = 15.0  # seconds between looks for dead holders' rows

    def __post_init__(self) -> None:
        if self.attempt_timeout * 1.5 > outbox.SEND_LEASE.total_seconds():
            raise ValueError("attempt_timeout must stay well under the outbox send lease")
