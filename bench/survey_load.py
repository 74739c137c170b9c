"""Children answering a whole survey at once: Stemme beside a plain python-telegram-bot bot.

Usage: python bench/survey_load.py [--children N] [--scenarios LIST] [--postgres URL]
                                   [--prompts P] [--limited-children K] [--timeout S]
                                   [--peer-concurrent-updates] [--keep] [--json]

Scenarios (--scenarios, comma-separated; default all, postgresql only with a URL):

- telegram: Stemme (`python -m bot serve`, SQLite) with N children on Telegram. Each child
  is a case of its own: a 12-year-old whose custody holder agreed (recorded by the
  caseworker), with an invite. The child deep-links in (`/start <token>` to the webhook),
  says yes to the consent question, gets the greeting, taps a random 0-10 on each of the
  eight items, taps "skip" on the free-text question and reads the thanks: 11 updates.
  Overall pacing is lifted (STEMME_TELEGRAM_MESSAGES_PER_SECOND=100000); Stemme's 1/s per
  chat stays, so a reply comes no sooner than about 1.1 s after the message before it.
- peer: the same children against bench/survey_peer.py, the same survey as a plain PTB
  ConversationHandler + PicklePersistence + run_webhook, PTB's defaults.
- webchat: Stemme on SQLite with N children on the web-chat page /chat/{token}, their survey
  started beforehand (as the sweep starts one); a child taps by posting the form, follows the
  303 to the page, and reads the page until it shows the next question (reloading it after
  0.1, 0.2, 0.4, 0.8 s, then every second, when it does not: counted as
  pages_without_the_reply). No provider limit.
- postgresql: the telegram scenario on PostgreSQL (STEMME_TEST_POSTGRES_URL or --postgres),
  in a schema dropped afterwards.
- limited: Telegram's real limits: Stemme's default pacing (30 messages/s overall, 1/s per
  chat) and the fake Bot API answering 429 with retry_after past 30 sendMessage/s overall or
  past 3 in 3 s (or 20 in 20 s) to one chat. K children (--limited-children) answer two
  items and wait at the third; then P new survey prompts (--prompts, other participants'
  first questions: a greeting and a question each) are queued at once, in one transaction,
  as the sweep queues them; then the children go on. Printed: the p95 of the children's
  replies from then on, the backlog's drain time and the 429s. Here a child waits up to
  three times the backlog's drain time at 27/s for a reply, so a reply stuck behind the
  backlog is measured rather than cut off.

Method. This process runs the fake Bot API (aiohttp) and every child in one event loop, so a
sendMessage reaching the fake hands the message to its child at once; the server runs in a
process of its own (and the peer in another). Each child posts its next update only after
the question it answers has arrived. Latency is the time from posting an update (/start or
a tap) to the arrival at the fake of the message the child waits for: the next question
with a keyboard (a message without one, the greeting, is only read), or the closing message
after the last question. A child is done when, after it tapped "skip" on the free-text
question that follows the last item, a message without a keyboard arrives (the thanks). A
child gives up after --timeout seconds (60) waiting for one reply and counts as not
completed. updates/s = updates posted by all children / the time from the first post to the
last reply any child received; surveys/s = completed / that time. Stemme is seeded straight
through storage beforehand (`python -m bot migrate` first); the server's stderr is kept in a
temporary file and summarised (lines, warnings, errors); --keep keeps the temporary folder.
Everything runs on loopback, and the bench's own process shares the machine's CPUs with the
servers it measures. --json prints one object with more detail per scenario (the median
latency of each step, Bot API calls by method, the log summary).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from pgschema import temporary_schema  # noqa: E402
from survey_fakes import (  # noqa: E402
    BOT_USERNAME,
    ChildResult,
    FakeBotAPI,
    TelegramChild,
    WebChatChild,
    percentile,
)

TOKEN = "7000000001:AABenchTokenForLoad_0123456789abcdef"
SECRET = "bench-secret_0123456789"
WEBHOOK = "/webhooks/telegram"
SCENARIOS = ("telegram", "peer", "webchat", "postgresql", "limited")
TITLES = {"telegram": "Stemme, Telegram, SQLite", "peer": "PTB peer (Conversation+Pickle)",
          "webchat": "Stemme, web chat, SQLite", "postgresql": "Stemme, Telegram, PostgreSQL",
          "limited": "Stemme, Telegram, 30/s limits"}
CHUNK = 250  # cases per seeding transaction
CHILD_CHATS = 100_000_000
OTHER_CHATS = 500_000_000
BARRIER_ITEM = 3  # limited scenario: children wait before tapping this item


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Processes:
    """Subprocesses this bench started; all stopped at the end, whatever happens."""

    def __init__(self) -> None:
        self.running: list[subprocess.Popen[bytes]] = []

    def start(self, argv: list[str], *, env: dict[str, str], cwd: Path,
              log: Path) -> subprocess.Popen[bytes]:
        with log.open("wb") as out:
            # A session of its own: Ctrl+C reaches the bench, which stops it in order.
            proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        self.running.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc in self.running:
            self.running.remove(proc)

    def stop_all(self) -> None:
        for proc in list(self.running):
            self.stop(proc, timeout=10.0)


# -- Stemme: environment, seeding, serving -------------------------------------------------

def stemme_env(work: Path, url: str, fake_url: str, port: int, rate: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STEMME_")}
    env.update(PYTHONPATH=str(ROOT), STEMME_DATA_DIR=str(work / "data"),
               STEMME_DATABASE_URL=url, STEMME_KEY_FILE=str(work / "keys.json"),
               STEMME_PUBLIC_URL=f"http://127.0.0.1:{port}", STEMME_QUIET_HOURS="",
               STEMME_SWEEP_SECONDS="3600", STEMME_TELEGRAM_TOKEN=TOKEN,
               STEMME_TELEGRAM_WEBHOOK_SECRET=SECRET, STEMME_TELEGRAM_API_URL=fake_url,
               STEMME_TELEGRAM_BOT_USERNAME=BOT_USERNAME)
    if rate is not None:
        env["STEMME_TELEGRAM_MESSAGES_PER_SECOND"] = rate
    return env


def _born() -> date:
    today = date.today()
    return date(today.year - 12, 1, 1) if today.month > 6 else date(today.year - 13, 7, 1)


def seed(url: str, key_file: Path, *, children: int, channel: str, others: int = 0,
         start_surveys: bool = False) -> tuple[list[str], list[str]]:
    """Children (one case each, custody holder's yes, an invite) and `others` parents on
    Telegram, linked and agreed; returns (the children's invite tokens, the others' ids)."""
    from sqlmodel import Session

    from bot.conversation.host import Surveys
    from consent import agreements
    from consent.links import link_telegram
    from scheduler.sweep import Due
    from storage.blind_index import BlindIndex
    from storage.db import make_engine
    from storage.keys import KeyRing
    from storage.models import utcnow
    from storage.repo import cases, invites
    from storage.repo.users import create_user
    from storage.vault import Vault

    engine = make_engine(url)
    vault = Vault(KeyRing.load(key_file, create=False))
    index = BlindIndex(vault.ring)
    surveys = Surveys(vault)
    now, born = utcnow(), _born()
    tokens: list[str] = []
    other_ids: list[str] = []
    try:
        with Session(engine, expire_on_commit=False) as session:
            user = create_user(session, email=f"bench{time.time_ns()}@example.org",
                               role="caseworker", password=None)
            session.commit()
            for first in range(0, children, CHUNK):
                due = []
                for n in range(first, min(children, first + CHUNK)):
                    case = cases.create_case(session, vault, ref=f"BENCH-{n}",
                                             child_name=f"Barn{n} Bench", birth_date=born,
                                             caseworker_id=user.id)
                    person = cases.add_participant(session, vault, index, case=case,
                                                   role="child", channel=channel)
                    agreements.record(session, person, action="given", given_by="guardian",
                                      recorded_by="caseworker", at=now, age_at_time=12)
                    tokens.append(invites.create_invite(session, person, now=now))
                    due.append(Due.of(person))
                if start_surveys:
                    surveys.start_due(session, due, now)
                session.commit()
            for first in range(0, others, CHUNK):
                for n in range(first, min(others, first + CHUNK)):
                    case = cases.create_case(session, vault, ref=f"OTHER-{n}",
                                             child_name=f"Andet{n} Barn", birth_date=born,
                                             caseworker_id=user.id)
                    person = cases.add_participant(session, vault, index, case=case,
                                                   role="parent", channel="telegram")
                    agreements.record(session, person, action="given", given_by="self",
                                      recorded_by="participant", at=now)
                    link_telegram(session, vault, index, person, OTHER_CHATS + n, at=now)
                    other_ids.append(person.id)
                session.commit()
    finally:
        engine.dispose()
    return tokens, other_ids


def queue_prompts(url: str, key_file: Path, ids: list[str]) -> float:
    """Start the others' surveys in one transaction, as a sweep batch does; seconds taken."""
    from sqlmodel import Session, col, select

    from bot.conversation.host import Surveys
    from scheduler.sweep import Due
    from storage.db import make_engine
    from storage.keys import KeyRing
    from storage.models import Participant, utcnow
    from storage.vault import Vault

    engine = make_engine(url)
    surveys = Surveys(Vault(KeyRing.load(key_file, create=False)))
    began = time.perf_counter()
    try:
        with Session(engine) as session:
            people = session.exec(select(Participant).where(col(Participant.id).in_(ids))).all()
            surveys.start_due(session, [Due.of(p) for p in people], utcnow())
            session.commit()
    finally:
        engine.dispose()
    return time.perf_counter() - began


async def wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path,
                       timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                tail = log.read_text(errors="replace")[-2000:]
                raise SystemExit(f"the server exited with {proc.returncode}:\n{tail}")
            with contextlib.suppress(aiohttp.ClientError, OSError):
                async with http.get(url + "/healthz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise SystemExit(f"the server at {url} did not become healthy")


_LEVEL = re.compile(r"\b(warning|error|critical|exception)\b", re.I)


def summarise_log(log: Path) -> dict[str, Any]:
    """Lines, and the warnings and errors by their message (first few kinds)."""
    text = log.read_text(errors="replace") if log.exists() else ""
    lines = text.splitlines()
    kinds: dict[str, int] = {}
    tracebacks = text.count("Traceback (most recent call last)")
    for line in lines:
        match = _LEVEL.search(line)
        if not match:
            continue
        try:
            record = json.loads(line)
            key = f"{record.get('level', match[1]).lower()}: {record.get('event', line)[:120]}"
        except (json.JSONDecodeError, AttributeError):
            # Plain log lines: without time stamps and ids, so equal lines group.
            key = re.sub(r"\d[\d:.\-T]*|[0-9a-f]{8,}", "#", line.strip())[:140]
        kinds[key] = kinds.get(key, 0) + 1
    top = dict(sorted(kinds.items(), key=lambda kv: -kv[1])[:8])
    return {"lines": len(lines), "warnings_or_errors": sum(kinds.values()),
            "tracebacks": tracebacks, "kinds": top, "file": str(log)}


# -- driving -------------------------------------------------------------------------------

def _connector() -> aiohttp.TCPConnector:
    return aiohttp.TCPConnector(limit=0, force_close=False)


def summarise(results: list[ChildResult], n: int, *, extra: dict[str, Any] | None = None
              ) -> dict[str, Any]:
    firsts = [r.first_post for r in results if r.first_post is not None]
    lasts = [r.last_reply for r in results if r.last_reply is not None]
    seconds = (max(lasts) - min(firsts)) if firsts and lasts else 0.0
    posted = sum(r.posted for r in results)
    completed = sum(r.completed for r in results)
    latencies = [x for r in results for x in r.latencies]
    errors: dict[str, int] = {}
    for r in results:
        if r.error:
            errors[r.error[:80]] = errors.get(r.error[:80], 0) + 1
    items = sorted({r.scale_answers for r in results if r.completed})
    steps = max((len(r.latencies) for r in results), default=0)
    by_step = [_round(percentile([r.latencies[i] for r in results if len(r.latencies) > i], 50))
               for i in range(steps)]
    out: dict[str, Any] = {
        "children": n, "completed": completed, "updates": posted,
        "seconds": round(seconds, 2),
        "updates_per_second": round(posted / seconds, 1) if seconds else 0.0,
        "surveys_per_second": round(completed / seconds, 2) if seconds else 0.0,
        "latency_p50": _round(percentile(latencies, 50)),
        "latency_p95": _round(percentile(latencies, 95)),
        "latency_p99": _round(percentile(latencies, 99)),
        "latency_max": _round(max(latencies) if latencies else None),
        "latency_p50_by_step": by_step,
        "items_answered_by_completed": items,
        "webhook_retries": sum(r.webhook_errors for r in results),
        "pages_without_the_reply": sum(r.stale_pages for r in results),
        "not_completed_because": errors}
    out.update(extra or {})
    return out


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


class Progress:
    """A rich progress bar per scenario (nothing in --json mode)."""

    def __init__(self, quiet: bool) -> None:
        self.bar: Any = None
        if not quiet:
            from rich import progress as rp

            self.bar = rp.Progress(rp.TextColumn("{task.description:<34}"), rp.BarColumn(),
                                   rp.MofNCompleteColumn(), rp.TimeElapsedColumn(),
                                   rp.TextColumn("{task.fields[note]}"), transient=False)

    def __enter__(self) -> Progress:
        if self.bar is not None:
            self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def task(self, title: str, total: int) -> Callable[..., None]:
        if self.bar is None:
            return lambda advance=0, note=None: None
        task_id = self.bar.add_task(title, total=total, note="")

        def update(advance: int = 0, note: str | None = None) -> None:
            fields = {} if note is None else {"note": note}
            self.bar.update(task_id, advance=advance, **fields)
        return update


async def run_children(coros: list[Any], update: Callable[..., None]) -> None:
    async def one(coro: Any) -> None:
        await coro
        update(advance=1)
    await asyncio.gather(*(one(c) for c in coros))


async def drive_telegram(fake: FakeBotAPI, url: str, tokens: list[str], timeout: float,
                         update: Callable[..., None], seed_: int) -> list[ChildResult]:
    children = [TelegramChild(CHILD_CHATS + n, token, random.Random(seed_ + n))
                for n, token in enumerate(tokens)]
    for child in children:
        fake.chats[child.chat_id] = child.deliver
    async with aiohttp.ClientSession(connector=_connector()) as http:
        await run_children([c.run(http, url + WEBHOOK, SECRET, timeout) for c in children],
                           update)
    return [c.result for c in children]


async def drive_webchat(base: str, tokens: list[str], timeout: float,
                        update: Callable[..., None], seed_: int) -> list[ChildResult]:
    children = [WebChatChild(token, random.Random(seed_ + n)) for n, token in enumerate(tokens)]
    async with aiohttp.ClientSession(connector=_connector()) as http:
        await run_children([c.run(http, base, timeout) for c in children], update)
    return [c.result for c in children]


# -- scenarios -----------------------------------------------------------------------------

class Bench:
    def __init__(self, args: argparse.Namespace, work: Path, procs: Processes,
                 fake: FakeBotAPI, progress: Progress) -> None:
        self.args, self.work, self.procs, self.fake, self.progress = (
            args, work, procs, fake, progress)
        self.python = sys.executable
        self.seed_seconds = 0.0

    @contextlib.contextmanager
    def database(self, name: str, kind: str) -> Iterator[str]:
        if kind == "postgresql":
            with temporary_schema(self.args.postgres, f"bench_survey_{name}") as url:
                yield url
        else:
            yield f"sqlite:///{self.work / name / 'stemme.db'}"

    async def serve_stemme(self, name: str, url: str, rate: str | None, seeding: Callable[
            [Path], Any]) -> tuple[subprocess.Popen[bytes], str, Path, Any]:
        """Migrate, seed, start `python -m bot serve`; (process, base URL, log, seeded)."""
        work = self.work / name
        work.mkdir(parents=True, exist_ok=True)
        port = _free_port()
        env = stemme_env(work, url, self.fake.url, port, rate)
        if self.args.writer_process:  # storing and processing on a core of their own
            env["STEMME_WRITER_PROCESS"] = "true"
        migrated = await asyncio.to_thread(
            subprocess.run, [self.python, "-m", "bot", "migrate", "--json"], env=env, cwd=work,
            capture_output=True)
        if migrated.returncode != 0:
            raise SystemExit(f"migrate failed: {migrated.stdout!r} {migrated.stderr!r}")
        began = time.perf_counter()
        seeded = await asyncio.to_thread(seeding, work / "keys.json")
        self.seed_seconds = round(time.perf_counter() - began, 1)
        log = work / "server.log"
        proc = self.procs.start([self.python, "-m", "bot", "serve", "--host", "127.0.0.1",
                                 "--port", str(port)], env=env, cwd=work, log=log)
        base = f"http://127.0.0.1:{port}"
        await wait_healthy(base, proc, log)
        return proc, base, log, seeded

    async def telegram(self, name: str, kind: str) -> dict[str, Any]:
        n, args = self.args.children, self.args
        update = self.progress.task(TITLES[name], n)
        update(note="seeding")
        self.fake.reset()
        with self.database(name, kind) as url:
            proc, base, log, (tokens, _) = await self.serve_stemme(
                name, url, "100000",
                lambda keys: seed(url, keys, children=n, channel="telegram"))
            update(note="")
            try:
                results = await drive_telegram(self.fake, base, tokens, args.timeout, update,
                                               args.seed)
            finally:
                self.procs.stop(proc)
        return summarise(results, n, extra={"bot_api_calls": dict(self.fake.calls),
                                            "server_log": summarise_log(log)})

    async def webchat(self, name: str) -> dict[str, Any]:
        n, args = self.args.children, self.args
        update = self.progress.task(TITLES[name], n)
        update(note="seeding")
        self.fake.reset()
        with self.database(name, "sqlite") as url:
            proc, base, log, (tokens, _) = await self.serve_stemme(
                name, url, "100000",
                lambda keys: seed(url, keys, children=n, channel="webchat", start_surveys=True))
            update(note="")
            try:
                results = await drive_webchat(base, tokens, args.timeout, update, args.seed)
            finally:
                self.procs.stop(proc)
        return summarise(results, n, extra={"server_log": summarise_log(log)})

    async def peer(self) -> dict[str, Any]:
        n, args = self.args.children, self.args
        update = self.progress.task(TITLES["peer"], n)
        self.fake.reset()
        work = self.work / "peer"
        work.mkdir(parents=True, exist_ok=True)
        port = _free_port()
        argv = [self.python, str(ROOT / "bench" / "survey_peer.py"), "--port", str(port),
                "--api-url", self.fake.url, "--token", TOKEN, "--secret", SECRET,
                "--data", str(work / "peer.pickle")]
        if args.peer_concurrent_updates:
            argv.append("--concurrent-updates")
        log = work / "peer.log"
        proc = self.procs.start(argv, env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=work,
                                log=log)
        try:
            await asyncio.wait_for(self.fake.webhook_set.wait(), 60)
            await self._port_open(port, proc, log)
            results = await drive_telegram(self.fake, f"http://127.0.0.1:{port}",
                                           [f"peer{k}" for k in range(n)], args.timeout,
                                           update, args.seed)
        finally:
            self.procs.stop(proc)
        return summarise(results, n, extra={"bot_api_calls": dict(self.fake.calls),
                                            "concurrent_updates": args.peer_concurrent_updates,
                                            "peer_log": summarise_log(log)})

    async def _port_open(self, port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
        for _ in range(300):
            if proc.poll() is not None:
                raise SystemExit(f"the peer exited:\n{log.read_text(errors='replace')[-2000:]}")
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                return
            except OSError:
                await asyncio.sleep(0.1)
        raise SystemExit("the peer did not listen")

    async def limited(self) -> dict[str, Any]:
        args = self.args
        k, prompts = args.limited_children, args.prompts
        update = self.progress.task(TITLES["limited"], k)
        update(note="seeding")
        self.fake.reset(limits=True)
        # A reply stuck behind the whole backlog is measured, not cut off.
        timeout = max(args.timeout, 3.0 * 2 * prompts / 27)
        with self.database("limited", "sqlite") as url:
            proc, base, log, (tokens, others) = await self.serve_stemme(
                "limited", url, None,
                lambda keys: seed(url, keys, children=k, channel="telegram", others=prompts))
            keys = self.work / "limited" / "keys.json"
            children = [TelegramChild(CHILD_CHATS + n, token, random.Random(args.seed + n))
                        for n, token in enumerate(tokens)]
            barrier, mark = asyncio.Event(), asyncio.Event()
            waiting = 0

            def pause(result: ChildResult) -> asyncio.Event | None:
                nonlocal waiting
                if result.scale_answers == BARRIER_ITEM and not mark.is_set():
                    waiting += 1
                    return barrier
                return None

            for child in children:
                child.mark = mark
                self.fake.chats[child.chat_id] = child.deliver
            update(note="answering the first items")
            try:
                async with aiohttp.ClientSession(connector=_connector()) as http:
                    runs = asyncio.ensure_future(run_children(
                        [c.run(http, base + WEBHOOK, SECRET, timeout, pause) for c in children],
                        update))
                    deadline = time.monotonic() + 120
                    while waiting + sum(c.result.error is not None for c in children) < k \
                            and time.monotonic() < deadline and not runs.done():
                        await asyncio.sleep(0.05)
                    update(note=f"{prompts} prompts queued")
                    queued_in = await asyncio.to_thread(queue_prompts, url, keys, others)
                    queued_at = time.perf_counter()
                    mark.set()
                    barrier.set()
                    await runs
                    children_done = time.perf_counter() - queued_at
                    update(note="draining the backlog")
                    # The backlog's rest, to say how fast it went out (each prompt: 2 messages).
                    expected = 2 * prompts
                    drain_deadline = time.monotonic() + max(120.0, 4.0 * expected / 27)
                    while self.fake.other_messages < expected \
                            and time.monotonic() < drain_deadline:
                        await asyncio.sleep(0.1)
                    drained = max(0.0, self.fake.other_last_at - queued_at)
            finally:
                self.procs.stop(proc)
        results = [c.result for c in children]
        tagged = [x for r in results for x in r.tagged]
        return summarise(results, k, extra={
            "prompts_queued": prompts, "queue_transaction_seconds": round(queued_in, 2),
            "mid_survey_replies": len(tagged),
            "mid_survey_p50": _round(percentile(tagged, 50)),
            "mid_survey_p95": _round(percentile(tagged, 95)),
            "mid_survey_max": _round(max(tagged) if tagged else None),
            "children_done_after_queue_seconds": round(children_done, 2),
            "backlog_messages_sent": self.fake.other_messages,
            "backlog_seconds": round(drained, 2),
            "backlog_messages_per_second": round(self.fake.other_messages / drained, 1)
            if drained else None,
            "rate_limited_429": self.fake.rejected, "bot_api_calls": dict(self.fake.calls),
            "server_log": summarise_log(log)})


async def run(args: argparse.Namespace, work: Path, procs: Processes,
              progress: Progress) -> dict[str, Any]:
    fake = FakeBotAPI(TOKEN)
    await fake.start()
    bench = Bench(args, work, procs, fake, progress)
    out: dict[str, Any] = {"children": args.children, "cpus": os.cpu_count(), "scenarios": {}}
    try:
        for name in args.scenarios:
            began = time.perf_counter()
            if name in ("telegram", "postgresql"):
                result = await bench.telegram(name, "postgresql" if name == "postgresql"
                                              else "sqlite")
            elif name == "peer":
                result = await bench.peer()
            elif name == "webchat":
                result = await bench.webchat(name)
            else:
                result = await bench.limited()
            result["scenario_seconds"] = round(time.perf_counter() - began, 1)
            if name != "peer":
                result["seed_seconds"] = bench.seed_seconds
            out["scenarios"][name] = result
    finally:
        await fake.close()
    peer = out["scenarios"].get("peer")
    if peer and peer["updates_per_second"]:
        for name in ("telegram", "postgresql"):
            if name in out["scenarios"]:
                mine = out["scenarios"][name]
                mine["ratio_to_peer"] = round(
                    mine["updates_per_second"] / peer["updates_per_second"], 3)
    return out


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:,.0f} ms"


def print_tables(out: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 120)
    table = Table(title=f"{out['children']:,} children answering the whole survey "
                        f"({out['cpus']} CPUs)")
    for column in ("scenario", "updates/s", "surveys/s", "completed/N", "p50", "p95", "p99",
                   "vs peer", "seconds"):
        table.add_column(column, justify="left" if column == "scenario" else "right")
    for name, r in out["scenarios"].items():
        ratio = r.get("ratio_to_peer")
        table.add_row(TITLES[name], f"{r['updates_per_second']:,.1f}",
                      f"{r['surveys_per_second']:,.2f}", f"{r['completed']:,}/{r['children']:,}",
                      _ms(r["latency_p50"]), _ms(r["latency_p95"]), _ms(r["latency_p99"]),
                      "-" if ratio is None else f"{ratio:.2f}x", f"{r['seconds']:.1f}")
    console.print(table)
    limited = out["scenarios"].get("limited")
    if limited:
        console.print(
            f"30/s limits, {limited['prompts_queued']:,} prompts queued at once: a child "
            f"mid-survey gets the next question in p95 {_ms(limited['mid_survey_p95'])} "
            f"(p50 {_ms(limited['mid_survey_p50'])}, max {_ms(limited['mid_survey_max'])}, "
            f"{limited['mid_survey_replies']} replies); the backlog's "
            f"{limited['backlog_messages_sent']:,} messages went out in "
            f"{limited['backlog_seconds']} s ({limited['backlog_messages_per_second']}/s), "
            f"{limited['rate_limited_429']} answered 429")
    for name, r in out["scenarios"].items():
        log = r.get("server_log") or r.get("peer_log")
        notes = []
        if r["not_completed_because"]:
            notes.append(f"not completed: {r['not_completed_because']}")
        if log and (log["warnings_or_errors"] or log["tracebacks"]):
            notes.append(f"log: {log['warnings_or_errors']} warnings/errors, "
                         f"{log['tracebacks']} tracebacks, e.g. {list(log['kinds'])[:3]}")
        if r.get("webhook_retries"):
            notes.append(f"{r['webhook_retries']} webhook posts retried")
        if notes:
            console.print(f"{TITLES[name]}: " + "; ".join(notes))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--children", type=int, default=200)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS),
                        help=f"comma-separated, of {', '.join(SCENARIOS)}")
    parser.add_argument("--postgres", default=os.environ.get("STEMME_TEST_POSTGRES_URL"),
                        help="a PostgreSQL URL (default STEMME_TEST_POSTGRES_URL)")
    parser.add_argument("--prompts", type=int, default=1000,
                        help="limited: survey prompts queued at once")
    parser.add_argument("--limited-children", type=int, default=20,
                        help="limited: children mid-survey while the prompts go out")
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="seconds a child waits for one reply before giving up")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--peer-concurrent-updates", action="store_true",
                        help="let the peer handle updates concurrently (PTB default: not)")
    parser.add_argument("--writer-process", action="store_true",
                        help="run Stemme with STEMME_WRITER_PROCESS=true (a second core)")
    parser.add_argument("--json", action="store_true", help="one JSON object, no progress")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary folder (databases, server logs)")
    args = parser.parse_args(argv)
    wanted = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(unknown)}")
    if "postgresql" in wanted and not args.postgres:
        if args.scenarios != ",".join(SCENARIOS):
            parser.error("postgresql needs --postgres or STEMME_TEST_POSTGRES_URL")
        wanted.remove("postgresql")
    args.scenarios = wanted
    return args


def main() -> None:
    args = parse_args()
    # A child hanging up on the fake at Ctrl+C is no news.
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)
    work = Path(tempfile.mkdtemp(prefix="stemme-survey-load-"))
    procs = Processes()
    try:
        with Progress(args.json) as progress:
            out = asyncio.run(run(args, work, procs, progress))
    except KeyboardInterrupt:
        print("interrupted; stopping the servers", file=sys.stderr)
        raise SystemExit(130) from None
    finally:
        procs.stop_all()
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(out))
    else:
        print_tables(out)


if __name__ == "__main__":
    main()
