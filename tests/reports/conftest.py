"""The reports suite uses the shared real SMTP server (tests/fakes/smtp.py)."""

from tests.fakes.smtp import Received, RecordingHandler, SmtpServer, free_port, smtp_server

__all__ = ["Received", "RecordingHandler", "SmtpServer", "free_port", "smtp_server"]
