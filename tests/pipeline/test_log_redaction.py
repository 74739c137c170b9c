"""The log processors: personal keys masked, objects summarised, exceptions without data."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
import structlog

from bot.runtime import logs
from bot.runtime.settings import SettingsError, load_settings
from storage.models import Participant


def redacted(**fields: object) -> dict[str, object]:
    return dict(logs.redact(None, "info", {"event": "e", **fields}))


@pytest.mark.parametrize("key", ["text", "body", "name", "child_name", "phone", "chat_id",
                                 "address", "email", "answer", "comment", "words", "payload",
                                 "birth_date", "token", "Message"])
def test_a_personal_key_is_masked_whatever_its_value(key: str) -> None:
    assert redacted(**{key: "Sofie"})[key] == logs.REDACTED
    assert redacted(**{key: 4242})[key] == logs.REDACTED


def test_plain_counts_ids_and_codes_stay() -> None:
    at = datetime(2026, 1, 5, 8, tzinfo=UTC)
    fields = redacted(channel="sms", started=3, duration_ms=1.5, id="0661d2fb1cc2930", at=at,
                      ok=True, error="rate_limited")
    assert fields == {"event": "e", "channel": "sms", "started": 3, "duration_ms": 1.5,
                      "id": "0661d2fb1cc2930", "at": str(at), "ok": True,
                      "error": "rate_limited"}


def test_objects_dates_and_containers_give_nothing_away() -> None:
    person = Participant(case_id="c", role="child", channel="telegram")
    fields = redacted(person=person, born=date(2014, 5, 31), sealed=b"\x01secret",
                      extra={"first_name": "Sofie", "n": 2}, many=[{"phone": "+4512345678"}])
    assert fields["person"] == "<Participant>" and fields["sealed"] == "<bytes>"
    assert fields["born"] == logs.REDACTED
    assert fields["extra"] == {"first_name": logs.REDACTED, "n": 2}
    assert fields["many"] == [{"phone": logs.REDACTED}]


def test_phone_numbers_chat_ids_and_addresses_in_free_text_are_scrubbed() -> None:
    event = "to +45 20 30 40 50, 4520304050, chat 123456789, cw@kommune.dk from 10.0.0.7"
    assert logs.scrub(event) == ", ".join(
        ["to [redacted]", "[redacted]", "chat [redacted]", "[redacted] from [redacted]"])
    assert logs.scrub("sent 3 of 12 in 41.5 ms") == "sent 3 of 12 in 41.5 ms"


def _raise_with_data() -> None:
    child_name = "Sofie Hansen"
    try:
        {"Sofie": 1}[child_name]
    except KeyError as exc:
        raise RuntimeError(f"no rater {child_name}") from exc


def test_an_exception_keeps_its_type_and_frames_but_not_its_words() -> None:
    with pytest.raises(RuntimeError) as info:
        _raise_with_data()
    raised, cause = logs.describe_exception(info.value)
    assert raised["type"] == "RuntimeError" and raised["message"] == logs.HIDDEN
    assert cause["type"] == "KeyError" and cause["relation"] == "cause"
    assert raised["frames"][-1]["function"] == "_raise_with_data"
    assert "Sofie" not in json.dumps([raised, cause])


def test_messages_known_to_carry_no_data_are_kept() -> None:
    [entry] = logs.describe_exception(FileNotFoundError(2, "No such file", "/x/Sofie.toml"))
    assert entry["message"] == "[Errno 2] No such file"
    [entry] = logs.describe_exception(SettingsError("STEMME_PORT: too big"))
    assert entry["message"] == "STEMME_PORT: too big"


@pytest.fixture
def output() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    yield stream
    logs.reset()


def test_json_is_one_object_a_line_and_third_parties_speak_at_warning(
    output: io.StringIO,
) -> None:
    logs.configure("json", "info", stream=output)
    log = structlog.get_logger("stemme.spec")
    log.info("comment stored", comment="Jeg er ked af det\nmen ok", case="c1")
    try:
        _raise_with_data()
    except RuntimeError:
        log.exception("handler failed")
    logging.getLogger("apscheduler.scheduler").info("Added job")  # below WARNING: dropped
    logging.getLogger("aiohttp.server").error("Error handling request from 10.1.2.3")
    logging.getLogger("aiohttp.access").error("GET /chat/secret-token")  # off entirely
    log.debug("below the level")
    lines = output.getvalue().splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["event"] for r in records] == [
        "comment stored", "handler failed", "Error handling request from [redacted]"]
    assert records[0]["comment"] == logs.REDACTED and records[0]["case"] == "c1"
    assert records[1]["level"] == "error" and records[1]["exception"][0]["type"] == "RuntimeError"
    assert "Sofie" not in output.getvalue()


def test_the_console_shows_a_traceback_without_locals_or_words(output: io.StringIO) -> None:
    logs.configure("console", "debug", stream=output)
    try:
        _raise_with_data()
    except RuntimeError:
        structlog.get_logger("stemme.spec").exception("handler failed", phone="+4512345678")
    text = output.getvalue()
    assert "Traceback (most recent call last):" in text and "in _raise_with_data" in text
    assert "RuntimeError: [hidden]" in text and "KeyError: [hidden]" in text
    assert "Sofie" not in text and "12345678" not in text


def test_the_settings_name_the_format_and_level() -> None:
    settings = load_settings(log_format="json", log_level="DEBUG")
    assert (settings.log_format, settings.log_level) == ("json", "debug")
    with pytest.raises(SettingsError, match="STEMME_LOG_FORMAT"):
        load_settings(log_format="xml")
