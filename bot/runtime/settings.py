"""Settings from STEMME_* environment variables (and .env), validated once at start-up."""

from __future__ import annotations

import re
from datetime import time, timedelta
from functools import cached_property
from pathlib import Path
from typing import Literal, Self
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from reports.rules import RulesError, RulesInForce, rules_in_force


class SettingsError(Exception):
    """A setting is wrong; the message names the variable and what to do."""


_DIGEST_AT = re.compile(r"^(mon|tue|wed|thu|fri|sat|sun) ([01]?\d|2[0-3]):([0-5]\d)$")
_QUIET = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def parse_duration(text: str, name: str) -> timedelta:
    """A length of time like "4h", "90m", "1d" or "1h30m" (days, hours, minutes, seconds)."""
    match = _DURATION.match(text.strip().lower().replace(" ", ""))
    if not text.strip() or match is None or not any(match.groups()):
        raise ValueError(f"{name} must look like 4h, 90m, 1d or 1h30m, got {text!r}")
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def _http_url(value: str, name: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{name} must be an http(s) URL like https://example.org, got {value!r}")
    return value.rstrip("/")


class Settings(BaseSettings):
    """Every variable of the contract; defaults match CONTRACT.md."""

    model_config = SettingsConfigDict(
        env_prefix="STEMME_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    data_dir: Path = Path("./data")
    database_url: str = ""  # empty = sqlite under data_dir
    key_file: Path | None = None  # None = data_dir/keys.json
    audit_anchor_file: Path | None = None  # None = data_dir/audit-anchors.jsonl
    keys: str | None = Field(default=None, repr=False)  # the key file's JSON, instead of a file
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    public_url: str = "http://127.0.0.1:8080"
    # Comma-separated IPs/CIDRs of reverse proxies whose X-Forwarded-For names the client.
    trusted_proxies: str = Field(default="", pattern=r"^[0-9A-Fa-f.:/,\s]*$")
    timezone: str = "Europe/Copenhagen"
    quiet_hours: str = "20:00-08:00"
    sweep_seconds: float = Field(default=30, gt=0)
    text_packs_dir: Path | None = None
    rules_file: Path | None = None  # an organisation's alert rules (TOML); None = shipped ones
    risk_lexicon_file: Path | None = None
    # Where users get the source (AGPL §13); unset = the /source page, which names the licence.
    source_url: str | None = Field(default=None, pattern=r"^(https?://\S+)?$")

    telegram_token: str | None = Field(default=None, repr=False)
    telegram_webhook_secret: str | None = Field(default=None, repr=False)
    telegram_api_url: str = "https://api.telegram.org"
    telegram_bot_username: str | None = None  # for invite links t.me/<username>?start=<token>

    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = Field(default=None, repr=False)
    twilio_from: str | None = None
    twilio_api_url: str = "https://api.twilio.com"
    sms_segments_per_second: float = Field(default=1.0, gt=0)  # a long code: about 1/s
    telegram_messages_per_second: float = Field(default=30.0, gt=0)  # Bot API's overall limit
    send_max_attempts: int = Field(default=8, ge=1, le=50)  # then the message is marked failed
    # Store and process inbound messages in a child process: a second core for heavy traffic.
    writer_process: bool = False

    smtp_url: str | None = Field(default=None, repr=False)
    digest_from: str | None = None
    team_email: str | None = None  # urgent alerts unacknowledged after escalate_after go here too
    escalate_after: timedelta = timedelta(hours=4)  # "4h", "90m", "1d" or "1h30m"
    digest_at: str = "mon 07:00"  # local weekday and time of the weekly digest
    log_format: Literal["console", "json"] = "console"  # json: one object a line
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    @field_validator("public_url", "telegram_api_url", "twilio_api_url")
    @classmethod
    def _check_http(cls, value: str, info: object) -> str:
        name = "STEMME_" + str(getattr(info, "field_name", "url")).upper()
        return _http_url(value, name)

    @field_validator("database_url")
    @classmethod
    def _check_db(cls, value: str) -> str:
        if value and not re.match(r"^(sqlite|postgresql(\+psycopg)?)://", value):
            raise ValueError(
                "STEMME_DATABASE_URL must start with sqlite:/// or postgresql+psycopg://, "
                f"got {value.split('://')[0]!r}://..."
            )
        if value.startswith("postgresql://"):
            value = "postgresql+psycopg://" + value[len("postgresql://") :]
        return value

    @field_validator("timezone")
    @classmethod
    def _check_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"STEMME_TIMEZONE {value!r} is not a known IANA zone") from exc
        return value

    @field_validator("log_format", "log_level", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("quiet_hours")
    @classmethod
    def _check_quiet(cls, value: str) -> str:
        match = _QUIET.match(value)
        if not value.strip() or value.strip().lower() == "off":  # the parser's "off": none
            return ""
        if not match or int(match[1]) > 23 or int(match[3]) > 23:
            raise ValueError(f"STEMME_QUIET_HOURS must look like 20:00-08:00 (or off), got "
                             f"{value!r}")
        return value

    @field_validator("escalate_after", mode="before")
    @classmethod
    def _check_escalate_after(cls, value: object) -> timedelta:
        if isinstance(value, timedelta):
            delta = value
        else:
            delta = parse_duration(str(value), "STEMME_ESCALATE_AFTER")
        if delta <= timedelta(0):
            raise ValueError("STEMME_ESCALATE_AFTER must be longer than nothing, e.g. 4h")
        return delta

    @field_validator("rules_file", mode="before")
    @classmethod
    def _check_rules_file(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        try:
            rules_in_force(Path(str(value)))
        except RulesError as exc:
            detail = " ".join(str(exc).split())  # one line, however TOML words it
            detail = detail.removeprefix(str(value)).lstrip(": ")
            raise ValueError(f"STEMME_RULES_FILE {value}: {detail}") from None
        return value

    @field_validator("digest_at")
    @classmethod
    def _check_digest_at(cls, value: str) -> str:
        if not _DIGEST_AT.match(value.strip().lower()):
            raise ValueError(f"STEMME_DIGEST_AT must look like 'mon 07:00', got {value!r}")
        return value.strip().lower()

    @model_validator(mode="after")
    def _check_pairs(self) -> Self:
        if self.telegram_token and not self.telegram_webhook_secret:
            raise ValueError(
                "STEMME_TELEGRAM_TOKEN is set but STEMME_TELEGRAM_WEBHOOK_SECRET is not: "
                "set a random secret (letters, digits, _ and -) so forged webhooks are refused"
            )
        twilio = (self.twilio_account_sid, self.twilio_auth_token, self.twilio_from)
        if any(twilio) and not all(twilio):
            raise ValueError(
                "Twilio needs all of STEMME_TWILIO_ACCOUNT_SID, STEMME_TWILIO_AUTH_TOKEN "
                "and STEMME_TWILIO_FROM"
            )
        url = self.resolved_database_url
        if self.writer_process and url.startswith("sqlite") and (
                url.rstrip("/") in ("sqlite:", "sqlite:/") or ":memory:" in url):
            raise ValueError(
                "STEMME_WRITER_PROCESS needs a database file or server: the writer process "
                "cannot share an in-memory SQLite database; set STEMME_DATABASE_URL to a file"
            )
        return self

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to SQLite under the data folder."""
        return self.database_url or f"sqlite:///{self.data_dir / 'stemme.db'}"

    @property
    def resolved_key_file(self) -> Path:
        """Where the key file lives."""
        return self.key_file or self.data_dir / "keys.json"

    @property
    def resolved_audit_anchor_file(self) -> Path:
        """Where the audit chain's anchors are appended (outside the database)."""
        return self.audit_anchor_file or self.data_dir / "audit-anchors.jsonl"

    @cached_property
    def rules(self) -> RulesInForce:
        """The alert rules in force: the shipped ones, or STEMME_RULES_FILE's over them."""
        return rules_in_force(self.rules_file)

    @property
    def zone(self) -> ZoneInfo:
        """The local time zone for schedules and displays."""
        return ZoneInfo(self.timezone)

    @property
    def quiet_window(self) -> tuple[time, time] | None:
        """Quiet hours as (start, end) local times, or None when switched off."""
        match = _QUIET.match(self.quiet_hours)
        if not match:
            return None
        return time(int(match[1]), int(match[2])), time(int(match[3]), int(match[4]))

    @property
    def mail_sender(self) -> str:
        """The From address of digests and notices."""
        return self.digest_from or "stemme@localhost"

    @property
    def digest_cron(self) -> dict[str, str]:
        """APScheduler cron fields for the weekly digest."""
        day, clock = self.digest_at.split()
        hour, minute = clock.split(":")
        return {"day_of_week": day, "hour": hour, "minute": minute}

    @property
    def telegram_enabled(self) -> bool:
        """True when the Telegram channel is configured."""
        return bool(self.telegram_token)

    @property
    def twilio_enabled(self) -> bool:
        """True when the SMS channel is configured."""
        return bool(self.twilio_account_sid)


def load_settings(**overrides: object) -> Settings:
    """Read and validate settings, turning pydantic's report into one readable line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        var = f"STEMME_{where.upper()}" if where else "settings"
        msg = str(first.get("msg", "invalid")).removeprefix("Value error, ")
        raise SettingsError(f"{var}: {msg}" if var not in msg else msg) from None
