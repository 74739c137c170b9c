"""Sending report e-mails: SMTP from a URL with bounded retries, or .eml files in an outbox.

Exceptions::

    MailError                 anything this module raises
    ├── SmtpUrlError          STEMME_SMTP_URL cannot be used (also a ValueError)
    ├── MailSendError         given up after the retries; the message is kept as .eml in
    │                         outbox/failed/ (`eml_path`) so the caller can re-queue it
    └── MailAttemptError      one bounded attempt (`send_once`) failed; nothing is kept, the
                              caller's queue row is the record and retries later
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

FAILED = "failed"


class MailError(Exception):
    """Base of this module's errors."""


class SmtpUrlError(MailError, ValueError):
    """The SMTP URL is malformed; the message says what is expected (never the password)."""


class MailAttemptError(MailError):
    """One attempt failed; `permanent` when the server refused for good (5xx)."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


class MailSendError(MailError):
    """Sending failed for good; the message was written to `eml_path` for a later retry."""

    def __init__(self, message: str, *, eml_path: Path, attempts: int, permanent: bool) -> None:
        super().__init__(message)
        self.eml_path = eml_path
        self.attempts = attempts
        self.permanent = permanent


@dataclass(frozen=True, slots=True)
class SmtpTarget:
    """Where and how to deliver: parsed from smtp://user:pass@host:port[?starttls=1]."""

    hostname: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    use_tls: bool = False  # smtps://: TLS from the first byte
    start_tls: bool | None = None  # True: required; False: never; None: if offered
    timeout: float = 30.0


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def parse_smtp_url(url: str) -> SmtpTarget:
    """SmtpTarget from smtp://[user[:pass]@]host[:port][?starttls=1&timeout=30] or smtps://.

    Default ports: 465 for smtps, 587 with starttls=1, else 25. User and password may be
    percent-encoded (an @ in a user name is %40).
    """
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise SmtpUrlError("STEMME_SMTP_URL must start with smtp:// or smtps://")
    if not parts.hostname:
        raise SmtpUrlError("STEMME_SMTP_URL needs a host, e.g. smtp://mail.example.org:587")
    query = {k: v[-1].lower() for k, v in parse_qs(parts.query).items()}
    unknown = set(query) - {"starttls", "timeout"}
    if unknown:
        raise SmtpUrlError(f"STEMME_SMTP_URL: unknown option(s) {sorted(unknown)}")
    start_tls: bool | None = None
    if "starttls" in query:
        if query["starttls"] not in _TRUE | _FALSE:
            raise SmtpUrlError("STEMME_SMTP_URL: starttls must be 1 or 0")
        start_tls = query["starttls"] in _TRUE
    use_tls = parts.scheme == "smtps"
    if use_tls and start_tls:
        raise SmtpUrlError("STEMME_SMTP_URL: smtps:// is TLS already; drop starttls=1")
    try:
        port = parts.port or (465 if use_tls else 587 if start_tls else 25)
        timeout = float(query.get("timeout", "30"))
    except ValueError as exc:
        raise SmtpUrlError("STEMME_SMTP_URL: port and timeout must be numbers") from exc
    return SmtpTarget(
        hostname=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        use_tls=use_tls,
        start_tls=start_tls,
        timeout=timeout,
    )


def write_eml(message: EmailMessage, folder: Path | str) -> Path:
    """Write a message as an .eml file (CRLF, as on the wire), atomically and mode 0600."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    path = folder / f"{stamp}-{uuid.uuid4().hex[:12]}.eml"
    tmp = path.with_suffix(".tmp")
    data = message.as_bytes(policy=policy.SMTP)
    # 0600: digests name case refs; a half-written file is never visible under the .eml name.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path


def _permanent(exc: BaseException) -> bool:
    """5xx answers, refused addresses, failed logins and missing TLS do not heal in minutes."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return all(getattr(r, "code", 500) >= 500 for r in exc.recipients)
    if isinstance(exc, aiosmtplib.SMTPNotSupported):
        return True
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return 500 <= exc.code < 600
    return False


@dataclass(frozen=True, slots=True)
class Delivery:
    """How a message left: by SMTP, or as a file in the outbox."""

    via: Literal["smtp", "file"]
    attempts: int
    path: Path | None = None


Sleep = Callable[[float], Awaitable[None]]


class Mailer:
    """Sends EmailMessages by SMTP when a URL is set, else writes them to the outbox folder."""

    def __init__(
        self,
        smtp_url: str | None,
        outbox: Path | str,
        *,
        attempts: int = 4,
        backoff: float = 2.0,
        max_backoff: float = 60.0,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self.target = parse_smtp_url(smtp_url) if smtp_url else None
        self.outbox = Path(outbox)
        self.attempts = attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._sleep = sleep

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1, 2, 4, ... x backoff)."""
        return float(min(self.max_backoff, self.backoff * 2 ** (attempt - 1)))

    async def send(self, message: EmailMessage) -> Delivery:
        """Deliver one message; raises MailSendError (after keeping it as .eml) on failure."""
        if self.target is None:
            return Delivery("file", 1, write_eml(message, self.outbox))
        target = self.target
        last: BaseException | None = None
        attempt = 0
        while attempt < self.attempts:
            attempt += 1
            try:
                await aiosmtplib.send(
                    message,
                    hostname=target.hostname,
                    port=target.port,
                    username=target.username,
                    password=target.password,
                    use_tls=target.use_tls,
                    start_tls=target.start_tls,
                    timeout=target.timeout,
                )
                return Delivery("smtp", attempt)
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                last = exc
                if _permanent(exc):
                    break
                if attempt < self.attempts:
                    await self._sleep(self.delay(attempt))
        assert last is not None
        path = write_eml(message, self.outbox / FAILED)
        permanent = _permanent(last)
        raise MailSendError(
            f"e-mail not sent after {attempt} attempt(s) to {target.hostname}:{target.port}: "
            f"{type(last).__name__}: {last}; kept as {path.name}",
            eml_path=path,
            attempts=attempt,
            permanent=permanent,
        ) from last


    async def send_once(self, message: EmailMessage, *, timeout: float) -> Delivery:
        """One attempt, over within `timeout` seconds, or MailAttemptError (nothing kept).

        For mail whose retries a queue keeps (notices): a server that is down or hangs costs
        one bounded attempt, never the caller's loop.
        """
        if self.target is None:
            return Delivery("file", 1, write_eml(message, self.outbox))
        target = self.target
        limit = min(timeout, target.timeout)
        try:
            async with asyncio.timeout(limit):
                await aiosmtplib.send(
                    message, hostname=target.hostname, port=target.port,
                    username=target.username, password=target.password,
                    use_tls=target.use_tls, start_tls=target.start_tls, timeout=limit)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise MailAttemptError(
                f"e-mail not sent to {target.hostname}:{target.port}: "
                f"{type(exc).__name__}: {exc}", permanent=_permanent(exc)) from exc
        return Delivery("smtp", 1)


def outbox_dir(data_dir: Path | str) -> Path:
    """The folder of unsent mail: $STEMME_DATA_DIR/outbox-mail."""
    return Path(data_dir) / "outbox-mail"
