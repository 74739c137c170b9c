"""Sending: SMTP URLs, retries with backoff, never a silent drop, and the .eml outbox."""

from __future__ import annotations

from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest

from reports.mailer import (
    FAILED,
    Mailer,
    MailSendError,
    SmtpTarget,
    SmtpUrlError,
    outbox_dir,
    parse_smtp_url,
)
from tests.reports.conftest import SmtpServer, free_port


def _message(subject: str = "Stemme: test") -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = "stemme@kommune.example"
    msg["To"] = "anna@kommune.example"
    msg.set_content("Hej\n")
    return msg


class RecordingSleep:
    """A fake clock for backoff: records the waits instead of sleeping."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example.org", SmtpTarget("mail.example.org", 25)),
        (
            "smtp://user%40kommune.dk:p%3Ass@mail.example.org:2525?starttls=1",
            SmtpTarget("mail.example.org", 2525, "user@kommune.dk", "p:ss", start_tls=True),
        ),
        (
            "smtp://mail.example.org?starttls=1",
            SmtpTarget("mail.example.org", 587, start_tls=True),
        ),
        ("smtp://h?starttls=0&timeout=5", SmtpTarget("h", 25, start_tls=False, timeout=5.0)),
        (
            "smtps://u:p@mail.example.org",
            SmtpTarget("mail.example.org", 465, "u", "p", use_tls=True),
        ),
    ],
)
def test_smtp_urls_are_parsed(url: str, expected: SmtpTarget) -> None:
    assert parse_smtp_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "http://mail.example.org",
        "smtp://",
        "smtps://h?starttls=1",
        "smtp://h?tls=1",
        "smtp://h:port",
        "smtp://h?starttls=maybe",
    ],
)
def test_bad_smtp_urls_are_refused_without_echoing_secrets(url: str) -> None:
    with pytest.raises(SmtpUrlError) as caught:
        parse_smtp_url(url.replace("://", "://user:secret@") if "h" in url else url)
    assert "secret" not in str(caught.value)


def test_password_is_not_in_the_targets_repr() -> None:
    assert "secret" not in repr(parse_smtp_url("smtp://u:secret@h"))


async def test_without_smtp_url_mail_is_written_as_parseable_eml(tmp_path: Path) -> None:
    mailer = Mailer(None, outbox_dir(tmp_path))
    delivery = await mailer.send(_message("Stemme: ugeoversigt uge 48"))
    assert delivery.via == "file" and delivery.path is not None
    assert delivery.path.parent == tmp_path / "outbox-mail"
    assert delivery.path.stat().st_mode & 0o777 == 0o600
    parsed = BytesParser(policy=policy.default).parsebytes(delivery.path.read_bytes())
    assert parsed["Subject"] == "Stemme: ugeoversigt uge 48"
    assert list(delivery.path.parent.glob("*.tmp")) == []


async def test_mail_is_delivered_to_the_smtp_server(
    smtp_server: SmtpServer, tmp_path: Path
) -> None:
    delivery = await Mailer(smtp_server.url, tmp_path).send(_message())
    assert (delivery.via, delivery.attempts) == ("smtp", 1)
    (got,) = smtp_server.handler.received
    assert got.rcpt_tos == ["anna@kommune.example"]
    assert got.message["Subject"] == "Stemme: test"


async def test_a_temporary_failure_is_retried_with_growing_waits(
    smtp_server: SmtpServer, tmp_path: Path
) -> None:
    smtp_server.handler.answers = ["451 4.3.0 try again", "421 4.3.2 busy"]
    sleep = RecordingSleep()
    delivery = await Mailer(smtp_server.url, tmp_path, backoff=2, sleep=sleep).send(_message())
    assert (delivery.via, delivery.attempts) == ("smtp", 3)
    assert sleep.waits == [2.0, 4.0]
    assert len(smtp_server.handler.received) == 1


async def test_after_the_last_retry_the_mail_is_kept_and_an_error_raised(
    smtp_server: SmtpServer, tmp_path: Path
) -> None:
    smtp_server.handler.answers = ["451 4.3.0 try again"] * 3
    sleep = RecordingSleep()
    mailer = Mailer(smtp_server.url, tmp_path, attempts=3, backoff=1, sleep=sleep)
    with pytest.raises(MailSendError) as caught:
        await mailer.send(_message())
    error = caught.value
    assert (error.attempts, error.permanent) == (3, False)
    assert error.eml_path.parent == tmp_path / FAILED
    assert BytesParser(policy=policy.default).parsebytes(error.eml_path.read_bytes())["To"]
    assert sleep.waits == [1.0, 2.0]


async def test_a_permanent_refusal_is_not_retried(smtp_server: SmtpServer, tmp_path: Path) -> None:
    smtp_server.handler.answers = ["554 5.7.1 rejected"]
    sleep = RecordingSleep()
    with pytest.raises(MailSendError) as caught:
        await Mailer(smtp_server.url, tmp_path, sleep=sleep).send(_message())
    assert (caught.value.attempts, caught.value.permanent, sleep.waits) == (1, True, [])
    assert smtp_server.handler.attempts == 1


async def test_an_unreachable_server_is_retried_then_kept(tmp_path: Path) -> None:
    sleep = RecordingSleep()
    mailer = Mailer(f"smtp://127.0.0.1:{free_port()}?timeout=2", tmp_path, attempts=2, sleep=sleep)
    with pytest.raises(MailSendError) as caught:
        await mailer.send(_message())
    assert caught.value.attempts == 2 and caught.value.eml_path.exists()


def test_backoff_is_capped() -> None:
    mailer = Mailer(None, ".", backoff=10, max_backoff=25)
    assert [mailer.delay(n) for n in (1, 2, 3, 4)] == [10, 20, 25, 25]
