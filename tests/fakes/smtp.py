"""A real SMTP server on 127.0.0.1 (aiosmtpd) that records what it receives; shared by suites."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

import pytest
from aiosmtpd.controller import Controller


@dataclass
class Received:
    """One delivered message: the envelope and the parsed message."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: EmailMessage


@dataclass
class RecordingHandler:
    """Accepts every message, or answers the next queued SMTP codes (e.g. "451 busy")."""

    received: list[Received] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)
    attempts: int = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.attempts += 1
        if self.answers:
            return self.answers.pop(0)
        raw = bytes(envelope.original_content or envelope.content)
        message = BytesParser(policy=policy.default).parsebytes(raw)
        assert isinstance(message, EmailMessage)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), raw, message))
        return "250 Message accepted"


@dataclass
class SmtpServer:
    """Where the test server listens and what it got."""

    host: str
    port: int
    handler: RecordingHandler

    @property
    def url(self) -> str:
        """The server as a STEMME_SMTP_URL."""
        return f"smtp://{self.host}:{self.port}"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """An aiosmtpd server in its own thread, on a free port of 127.0.0.1."""
    handler = RecordingHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", port, handler)
    finally:
        controller.stop()
