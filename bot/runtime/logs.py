"""Logging for long-running commands: one structlog renderer, no personal data, an access log."""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import logging
import re
import sys
import threading
import time
import traceback
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from enum import Enum
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

import structlog
from aiohttp import web
from aiohttp.typedefs import Handler
from structlog.typing import EventDict, Processor, WrappedLogger

from bot.flows.instruments import InstrumentError
from bot.runtime.settings import Settings, SettingsError
from storage.db import DatabaseUnavailable

REDACTED = "[redacted]"
HIDDEN = "[hidden]"

# A key naming any of these words (split on "_": child_name, chat_id, birth_date, to_phone)
# holds personal data or a secret, whatever its value looks like.
PERSONAL_WORDS = frozenset({
    "text", "body", "name", "phone", "chat", "address", "email", "answer", "comment", "words",
    "payload", "message", "msg", "note", "birth", "token", "password", "secret", "sender",
    "recipient", "content", "params", "parameters", "form", "query", "locals",
})
# Keys structlog and this module add themselves; their values are ours, not data.
_OWN_KEYS = frozenset({"event", "level", "logger", "timestamp", "exception", "stack_info"})
# Defence in depth for free text (events, third-party messages, kept exception messages):
# phone numbers (+45 12 34 56 78, 4512345678), long digit runs (Telegram chat ids), e-mail
# addresses and IPv4 addresses are masked wherever they appear.
_SCRUB = re.compile(r"\+\d[\d \-]{6,}\d|\b\d{8,15}\b|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
                    r"|\b\d{1,3}(?:\.\d{1,3}){3}\b")
# Exceptions whose messages are written by us or the standard library and carry no data;
# every other message (a SQL error echoing values, a KeyError naming a key) is hidden.
_SAFE_MESSAGES: tuple[type[BaseException], ...] = (
    SettingsError, DatabaseUnavailable, InstrumentError, asyncio.CancelledError, TimeoutError,
)
_MAX_FRAMES = 40
_MAX_CHAIN = 5
# Third-party loggers (aiohttp, apscheduler, python-telegram-bot, httpx, twilio) speak at
# WARNING and above: below that they echo URLs, request bodies and chat ids.
_THIRD_PARTY_FLOOR = logging.WARNING
_OWN_LOGGERS = "stemme"

_handler: logging.Handler | None = None
_before: dict[str, Any] = {}  # what `configure` replaced, for `reset`


def scrub(text: str) -> str:
    """Free text with phone numbers, chat-id-like digit runs and e-mail addresses masked."""
    return _SCRUB.sub(REDACTED, text)


def is_personal_key(key: str) -> bool:
    """True for a key whose value is personal data or a secret (e.g. `child_name`)."""
    lowered = key.lower()
    return lowered in PERSONAL_WORDS or any(
        part in PERSONAL_WORDS for part in lowered.split("_"))


def _safe_value(value: Any, depth: int = 0) -> Any:
    """Plain values stay (strings scrubbed); containers are redacted inside; anything else,
    an ORM row, a dataclass or sealed bytes, becomes its type name and never its contents."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, datetime | timedelta | Path):
        return str(value)
    if isinstance(value, date):  # a bare date could be a birth date
        return REDACTED
    if isinstance(value, Enum):
        return _safe_value(value.value, depth + 1)
    if depth < 3 and isinstance(value, Mapping):
        return {str(k): REDACTED if is_personal_key(str(k)) else _safe_value(v, depth + 1)
                for k, v in value.items()}
    if depth < 3 and isinstance(value, list | tuple | set | frozenset):
        return [_safe_value(v, depth + 1) for v in value]
    if isinstance(value, BaseException):
        return _type_name(type(value))
    return f"<{type(value).__name__}>"


def redact(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """structlog processor: mask personal keys, summarise objects, scrub free text."""
    for key in list(event_dict):
        if key in _OWN_KEYS or key == "exc_info" or key.startswith("_"):
            continue
        value = event_dict[key]
        event_dict[key] = REDACTED if is_personal_key(key) else _safe_value(value)
    event = event_dict.get("event")
    if isinstance(event, str):
        event_dict["event"] = scrub(event)
    elif event is not None:
        event_dict["event"] = _safe_value(event)
    return event_dict


def _type_name(cls: type[BaseException]) -> str:
    if cls.__module__ == builtins.__name__:
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def _message(exc: BaseException) -> str:
    """The exception's message when it cannot hold data, else HIDDEN (or "" when empty)."""
    if isinstance(exc, _SAFE_MESSAGES):
        return scrub(str(exc))
    if isinstance(exc, OSError):  # the filename and the OS's words for what went wrong
        return f"[Errno {exc.errno}] {exc.strerror}" if exc.strerror else HIDDEN
    return HIDDEN if exc.args else ""


def describe_exception(exc: BaseException) -> list[dict[str, Any]]:
    """The exception and its causes, outermost first: type, a safe message, and each frame's
    file, line and function; never local variables or the source line's values."""
    chain: list[dict[str, Any]] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    relation = "raised"
    while current is not None and id(current) not in seen and len(chain) < _MAX_CHAIN:
        seen.add(id(current))
        frames = [{"file": f.filename, "line": f.lineno, "function": f.name}
                  for f in _frames(current.__traceback__)]
        entry: dict[str, Any] = {"type": _type_name(type(current)),
                                 "message": _message(current), "relation": relation,
                                 "frames": frames}
        if isinstance(current, BaseExceptionGroup):
            entry["group"] = [_type_name(type(e)) for e in current.exceptions[:10]]
        chain.append(entry)
        if current.__cause__ is not None:
            current, relation = current.__cause__, "cause"
        elif current.__context__ is not None and not current.__suppress_context__:
            current, relation = current.__context__, "context"
        else:
            current = None
    return chain


def _frames(tb: TracebackType | None) -> list[traceback.FrameSummary]:
    return list(traceback.extract_tb(tb))[-_MAX_FRAMES:]


def safe_exception(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """structlog processor: turn `exc_info` into `exception`, a list from `describe_exception`
    (what structlog's own formatters would print includes messages, and with rich, locals)."""
    exc_info = event_dict.pop("exc_info", None)
    exc: BaseException | None = None
    if isinstance(exc_info, BaseException):
        exc = exc_info
    elif isinstance(exc_info, tuple) and len(exc_info) == 3:
        exc = exc_info[1]
    elif exc_info:
        exc = sys.exc_info()[1]
    if exc is not None:
        event_dict["exception"] = describe_exception(exc)
    elif "exception" in event_dict and not isinstance(event_dict["exception"], list):
        event_dict["exception"] = HIDDEN  # a pre-formatted traceback may quote anything
    return event_dict


def _exception_text(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """For the console: the described exception as a traceback in Python's order."""
    chain = event_dict.get("exception")
    if not isinstance(chain, list):
        return event_dict
    lines: list[str] = []
    for entry in reversed(chain):
        lines.append("Traceback (most recent call last):")
        lines += [f'  File "{f["file"]}", line {f["line"]}, in {f["function"]}'
                  for f in entry["frames"]]
        message = entry["message"]
        lines.append(f"{entry['type']}: {message}" if message else entry["type"])
        if entry["relation"] != "raised":
            lines.append(f"\n{_LINKS[entry['relation']]}\n")
    event_dict["exception"] = "\n".join(lines)
    return event_dict


_LINKS = {"cause": "The above exception was the direct cause of the following exception:",
          "context": "During handling of the above exception, another exception occurred:"}


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to the given stream, or to whatever `sys.stderr` is at the time."""

    def __init__(self, stream: TextIO | None) -> None:
        super().__init__(stream if stream is not None else sys.stderr)
        self._follow = stream is None

    def emit(self, record: logging.LogRecord) -> None:
        """Write one formatted record (logging calls this under the handler's lock)."""
        if self._follow:
            self.stream = sys.stderr
        super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802  (logging's name)
        """One line. logging's own prints the exception being handled and the record's
        message whole: exactly what this module keeps out of the output."""
        with contextlib.suppress(Exception):
            failure = sys.exc_info()[0]
            sys.stderr.write(f"logging failed: {failure.__name__ if failure else 'unknown'}\n")


class _BoundLogger(structlog.stdlib.BoundLogger):
    """`exception()` logs at error with the exception in the event dict only: the standard
    library's record then carries no `exc_info` that another handler could print whole."""

    def exception(self, event: str | None = None, *args: Any, **kw: Any) -> Any:
        """An error with the exception being handled (described by `safe_exception`)."""
        kw.setdefault("exc_info", True)
        return self.error(event, *args, **kw)


def _shared_chain() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact,
        safe_exception,
    ]


def configure(fmt: str = "console", level: str = "info", *, stream: TextIO | None = None
              ) -> None:
    """Configure structlog and the standard library's logging for this process.

    `fmt` "json" writes one JSON object per line, "console" readable lines; `level` applies
    to Stemme's own loggers (`stemme.*`), third-party ones log WARNING and above. Calling it
    again replaces the earlier configuration (tests do).
    """
    global _handler
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    out = stream if stream is not None else sys.stderr  # for the tty check
    renderer: list[Processor] = (
        [structlog.processors.JSONRenderer(ensure_ascii=False)] if fmt == "json"
        else [_exception_text, structlog.dev.ConsoleRenderer(colors=out.isatty())])
    shared = _shared_chain()
    structlog.configure(
        processors=[structlog.stdlib.filter_by_level, *shared,
                    structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=_BoundLogger,
        cache_logger_on_first_use=False,  # tests swap processors (structlog.testing)
    )
    handler = _Handler(stream)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *renderer]))
    root = logging.getLogger()
    if _handler is not None:
        root.removeHandler(_handler)
    else:
        _before.update(root=root.level, own=logging.getLogger(_OWN_LOGGERS).level,
                       access=logging.getLogger("aiohttp.access").level,
                       excepthook=sys.excepthook, thread_hook=threading.excepthook)
    root.addHandler(handler)
    _handler = handler
    root.setLevel(max(numeric, _THIRD_PARTY_FLOOR))
    logging.getLogger(_OWN_LOGGERS).setLevel(numeric)
    logging.getLogger("aiohttp.access").setLevel(logging.CRITICAL + 1)  # ours is access_log
    logging.captureWarnings(True)
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_thread_exception


def reset() -> None:
    """Undo `configure`: structlog's defaults, the logging levels and hooks as they were."""
    global _handler
    if _handler is None:
        return
    logging.getLogger().removeHandler(_handler)
    _handler = None
    logging.getLogger().setLevel(_before["root"])
    logging.getLogger(_OWN_LOGGERS).setLevel(_before["own"])
    logging.getLogger("aiohttp.access").setLevel(_before["access"])
    logging.captureWarnings(False)
    sys.excepthook, threading.excepthook = _before["excepthook"], _before["thread_hook"]
    structlog.reset_defaults()


def configure_from(settings: Settings, *, stream: TextIO | None = None) -> None:
    """`configure` with STEMME_LOG_FORMAT and STEMME_LOG_LEVEL."""
    configure(settings.log_format, settings.log_level, stream=stream)


def _log_uncaught(cls: type[BaseException], exc: BaseException,
                  tb: TracebackType | None) -> None:
    structlog.get_logger("stemme.crash").critical("uncaught exception", exc_info=exc)


def _log_thread_exception(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is not None:
        structlog.get_logger("stemme.crash").error("uncaught exception in a thread",
                                                    exc_info=args.exc_value)


_access = structlog.get_logger("stemme.access")


def _route(request: web.Request) -> str:
    """The route's template (`/api/v1/cases/{case_id}`), never the concrete path."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "(unmatched)"


@web.middleware
async def access_log(request: web.Request, handler: Handler) -> web.StreamResponse:
    """One line per request: method, route template, status, duration (and a failure's
    exception, described without data, turned into a plain 500)."""
    started = time.perf_counter()
    status = 500
    try:
        response: web.StreamResponse = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    except asyncio.CancelledError:
        status = 499  # the client went away first
        raise
    except Exception:
        _access.exception("request failed", method=request.method, route=_route(request))
        raise web.HTTPInternalServerError() from None
    finally:
        _access.info("request", method=request.method, route=_route(request), status=status,
                     duration_ms=round((time.perf_counter() - started) * 1000, 1))
