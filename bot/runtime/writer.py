"""The inbox writer: one thread, or one child process, that stores and processes inbound messages.

Storing and processing take turns on one writer (SQLite has one writer anyway). By default it
is a thread of the serving process. With STEMME_WRITER_PROCESS it is a child process of its
own, so that the web work (HTTP, signature checks) and the writing each have a core instead of
sharing one interpreter lock. The child opens its own engine and keys from the same settings
and holds no conversation state between batches; if it dies, another is started and the
batch it was running runs once more.
The child exits when its parent is gone, so a killed server leaves no orphan writing.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import (
    Executor,
    Future,
    InvalidStateError,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
)
from concurrent.futures.process import BrokenProcessPool
from datetime import timedelta
from typing import Any, ParamSpec, TypeVar

import structlog

from bot.channels.base import Inbound
from bot.conversation.host import Surveys
from bot.conversation.interpreter import SurveyConfig
from bot.flows import load_detector
from bot.inbound.router import Effects, InboundRouter
from bot.inbound.store import store_each
from bot.runtime.logs import configure_from
from bot.runtime.parts import Runtime
from bot.runtime.settings import Settings

log = structlog.get_logger("stemme.writer")
P = ParamSpec("P")
T = TypeVar("T")
_PARENT_CHECK_SECONDS = 0.5


def build_router(rt: Runtime) -> InboundRouter:
    """The inbound router (and the surveys it drives) for one process's runtime."""
    s = rt.settings
    surveys = Surveys(rt.vault, SurveyConfig(text_packs_dir=s.text_packs_dir,
                                             lexicon_path=s.risk_lexicon_file,
                                             escalate_after=s.escalate_after,
                                             rules=s.rules.rules,
                                             urgent_deadline=timedelta(
                                                 hours=s.rules.rules.safety_response_hours)))
    return InboundRouter(engine=rt.engine, vault=rt.vault, index=rt.index, surveys=surveys)


class InboxWriter:
    """Where inbound writes run, and the two batch functions the coalescers call there."""

    executor: Executor
    store: Callable[[list[Inbound]], list[str | None]]
    process: Callable[[list[str]], list[Effects | None]]

    def warm_up(self) -> None:
        """Start what the first batch would otherwise wait for."""

    def shutdown(self) -> None:
        """Finish the batch under way, then stop."""
        self.executor.shutdown(wait=True)


class ThreadWriter(InboxWriter):
    """The writer as one thread of this process (the default)."""

    def __init__(self, rt: Runtime, router: InboundRouter) -> None:
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inbox")
        self.store = lambda inbounds: store_each(rt.engine, rt.vault, inbounds)
        self.process = router.process_many
        self._lexicon = rt.settings.risk_lexicon_file

    def warm_up(self) -> None:
        """Compile the risk lexicon and load the model now, not on the first message (about
        1.5 s, which the first child to write would wait)."""
        self.executor.submit(load_detector, self._lexicon).result(timeout=120)


class ProcessWriter(InboxWriter):
    """The writer as a child process, started again if it dies."""

    def __init__(self, settings: Settings) -> None:
        self.executor = _RestartingPool(settings)
        self.store = _store_in_child
        self.process = _process_in_child

    def warm_up(self) -> None:
        """Spawn the child and wait until it has loaded the code and the keys."""
        self.executor.submit(os.getpid).result(timeout=120)

    @property
    def pid(self) -> int:
        """The child's process id (for operators and tests)."""
        return int(self.executor.submit(os.getpid).result(timeout=120))


class _RestartingPool(Executor):
    """A one-process pool that replaces itself when its process dies.

    A batch under way when the process died runs once more in the new one: storing is keyed
    by provider id and processing claims its rows, so running a batch twice does nothing twice.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        # spawn, not fork: the parent has threads and open database connections.
        return ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_start_child,
                                   initargs=(self._settings, os.getpid()))

    def _submit_live(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        with self._lock:
            try:
                return self._pool.submit(fn, *args)
            except BrokenProcessPool:
                log.error("the inbox writer process died; starting another")
                self._pool = self._new_pool()
                return self._pool.submit(fn, *args)

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        if kwargs:
            raise TypeError("the writer takes positional arguments only")
        outer: Future[T] = Future()

        def attempt(tries_left: int) -> None:
            def settle(inner: Future[T]) -> None:
                if inner.cancelled():
                    outer.cancel()
                elif isinstance(inner.exception(), BrokenProcessPool) and tries_left:
                    attempt(tries_left - 1)
                else:
                    with contextlib.suppress(InvalidStateError):  # the caller cancelled
                        if (error := inner.exception()) is not None:
                            outer.set_exception(error)
                        else:
                            outer.set_result(inner.result())
            self._submit_live(fn, *args).add_done_callback(settle)

        attempt(1)
        return outer

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._pool.shutdown(wait=wait, cancel_futures=cancel_futures)


# -- in the child ------------------------------------------------------------------------------

_child: dict[str, Any] = {}


def _start_child(settings: Settings, parent: int) -> None:
    # Ctrl+C and a service manager's TERM reach the whole process group: the parent decides
    # when the writer stops, after its last batch, so the child ignores them.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True,
                     name="parent-watch").start()
    configure_from(settings)  # a process of its own: its logs need the same redaction
    rt = Runtime(settings)
    _child.update(rt=rt, router=build_router(rt))
    load_detector(settings.risk_lexicon_file)  # before the first message, as ThreadWriter


def _exit_with_parent(parent: int) -> None:
    # A parent killed with SIGKILL cannot stop us; when it is gone we are re-parented.
    while os.getppid() == parent:
        time.sleep(_PARENT_CHECK_SECONDS)
    os._exit(0)


def _store_in_child(inbounds: list[Inbound]) -> list[str | None]:
    rt: Runtime = _child["rt"]
    return store_each(rt.engine, rt.vault, inbounds)


def _process_in_child(inbox_ids: list[str]) -> list[Effects | None]:
    router: InboundRouter = _child["router"]
    return router.process_many(inbox_ids)
