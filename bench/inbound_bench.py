"""Durable inbound SMS per second through the whole pipeline, beside a bare aiohttp handler.

Usage: python bench/inbound_bench.py [--requests N] [--concurrency C] [--parents P]
                                     [--time-limit S] [--postgres URL] [--json]

Each request is a signed Twilio inbound-SMS webhook from a parent who has a survey running.
Stemme verifies the signature, commits it to the inbox, answers 2xx, then processes it: the
consent gate, the flow engine, the sealed answers and the next question in the outbox, in one
transaction. A message counts when that transaction has committed; the rate is messages over
the time from the first request to the last commit. The same client (aiohttp, C requests in
flight on loopback, signatures computed beforehand) also drives a bare aiohttp handler that
answers 200 at once, before and after Stemme on SQLite; the ratio compares Stemme with the
faster of the two. Both servers run in their own process, and each is sent 200 requests
before it is measured (Stemme's from parents kept for that).

Each database is measured twice: with the inbox writer as a thread of the server (the
default) and as a process of its own (STEMME_WRITER_PROCESS=true). The server runs the web
app without the sweep and the dispatcher (nothing is sent): they would only compete for the
CPU with what is measured. PostgreSQL is measured when STEMME_TEST_POSTGRES_URL (or
--postgres) is set, in a schema dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp  # noqa: E402
from pgschema import temporary_schema  # noqa: E402
from sqlmodel import Session, col, func, select  # noqa: E402
from twilio.request_validator import RequestValidator  # noqa: E402

from consent import agreements  # noqa: E402
from storage.blind_index import BlindIndex  # noqa: E402
from storage.db import make_engine  # noqa: E402
from storage.keys import KeyRing  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import InboxMessage, utcnow  # noqa: E402
from storage.repo import cases  # noqa: E402
from storage.repo.users import create_user  # noqa: E402
from storage.vault import Vault  # noqa: E402

PUBLIC_URL = "https://stemme.example.org"
PATH = "/webhooks/twilio/sms"
ACCOUNT_SID = "AC" + "b" * 32
AUTH_TOKEN = "0123456789abcdef0123456789abcdef"
FROM = "+4550000000"
WARM_UP = 200  # requests each server gets before it is measured
MODES = {"sqlite": "sqlite", "sqlite_writer_process": "sqlite, writer process",
         "postgresql": "postgresql", "postgresql_writer_process": "postgresql, writer process"}


def _phone(n: int) -> str:
    return f"+452{n:07d}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- the servers (child processes) ---------------------------------------------------------

def serve_bare(port: int) -> None:
    """A handler that reads the form and answers 200: what aiohttp alone costs."""
    from aiohttp import web

    async def handler(request: web.Request) -> web.Response:
        await request.post()
        return web.Response(text="<Response></Response>", content_type="text/xml")

    app = web.Application()
    app.router.add_post(PATH, handler)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


def serve_stemme(port: int) -> None:
    """The real web app and inbound pipeline, configured from STEMME_* like `stemme serve`."""
    from aiohttp import web

    from bot.runtime.app import create_app
    from bot.runtime.parts import Runtime
    from bot.runtime.services import Services
    from bot.runtime.settings import Settings

    runtime = Runtime(Settings())
    app = create_app(runtime, Services(runtime), background=False)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


def start(kind: str, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, __file__, f"--serve-{kind}", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, f"http://127.0.0.1:{port}"


async def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SystemExit(f"the {url} server exited with {proc.returncode}")
            try:
                async with http.post(url + PATH, data=b"") as response:
                    if response.status < 500:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit(f"the server at {url} did not start")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# -- data and requests ---------------------------------------------------------------------

def populate(url: str, key_file: Path, parents: int) -> None:
    """`parents` parents on SMS who agreed, two to a case, each in the middle of a survey."""
    from bot.conversation.host import Surveys

    engine = make_engine(url)
    upgrade(engine)
    vault = Vault(KeyRing.load(key_file))
    index = BlindIndex(vault.ring)
    surveys = Surveys(vault)
    now = utcnow()
    with Session(engine, expire_on_commit=False) as session:
        user = create_user(session, email=f"bench{time.time_ns()}@example.org",
                           role="caseworker", password=None)
        people = []
        for n in range(parents):
            if n % 2 == 0:
                case = cases.create_case(session, vault, ref=f"BENCH-{n // 2}",
                                         child_name=f"Barn{n // 2} Bench",
                                         birth_date=date(2014, 1, 1), caseworker_id=user.id)
            person = cases.add_participant(session, vault, index, case=case, role="parent",
                                           channel="sms", phone=_phone(n))
            agreements.record(session, person, action="given", given_by="self",
                              recorded_by="participant", at=now)
            people.append(person)
        session.commit()
        for person in people:
            surveys.start(session, person, now)
        session.commit()
    engine.dispose()


def requests(count: int, parents: int, first: int = 0) -> list[tuple[dict[str, str], bytes]]:
    """Signed webhook requests (headers, body) from parents `first`.., made beforehand."""
    from urllib.parse import urlencode

    validator = RequestValidator(AUTH_TOKEN)
    out = []
    for n in range(count):
        sid = f"SM{first:08x}{n:024x}"
        # Each parent answers their survey's four questions at once, then says thanks.
        form = {"MessageSid": sid, "SmsSid": sid, "SmsMessageSid": sid, "AccountSid": ACCOUNT_SID,
                "From": _phone(first + n % parents), "To": FROM, "NumMedia": "0",
                "NumSegments": "1", "Body": "7 6 8 9" if n < parents else "Tak",
                "SmsStatus": "received",
                "ApiVersion": "2010-04-01"}
        headers = {"Content-Type": "application/x-www-form-urlencoded",
                   "X-Twilio-Signature": validator.compute_signature(PUBLIC_URL + PATH, form)}
        out.append((headers, urlencode(form).encode()))
    return out


async def drive(base: str, reqs: list[tuple[dict[str, str], bytes]], concurrency: int,
                time_limit: float) -> dict[str, float]:
    """Send every request with `concurrency` in flight; returns counts and the elapsed time."""
    queue = iter(reqs)
    ok = failed = 0
    deadline = time.perf_counter() + time_limit
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def worker() -> None:
            nonlocal ok, failed
            for headers, body in queue:
                if time.perf_counter() > deadline:
                    return
                async with http.post(base + PATH, data=body, headers=headers) as response:
                    await response.read()
                    if 200 <= response.status < 300:
                        ok += 1
                    else:
                        failed += 1

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    return {"ok": ok, "failed": failed, "seconds": elapsed, "started": start}


def processed(url: str) -> int:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            return int(session.exec(select(func.count()).select_from(InboxMessage).where(
                col(InboxMessage.status) == "done")).one())
    finally:
        engine.dispose()


async def until_processed(url: str, count: int, deadline: float) -> int:
    """Wait until `count` inbox rows are processed (or the deadline); how many are."""
    done = await asyncio.to_thread(processed, url)
    while done < count and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
        done = await asyncio.to_thread(processed, url)
    return done


# -- the benchmarks ------------------------------------------------------------------------

async def bench_bare(reqs: list[tuple[dict[str, str], bytes]], concurrency: int,
                     time_limit: float) -> dict[str, float]:
    proc, base = start("bare", dict(os.environ))
    try:
        await wait_ready(base, proc)
        await drive(base, reqs[:WARM_UP], concurrency, time_limit)  # warm-up
        result = await drive(base, reqs, concurrency, time_limit)
    finally:
        stop(proc)
    return {"requests_per_second": round(result["ok"] / result["seconds"], 1),
            "requests": result["ok"]}


async def bench_stemme(url: str, work: Path, args: argparse.Namespace,
                       reqs: list[tuple[dict[str, str], bytes]],
                       writer_process: bool = False) -> dict[str, Any]:
    key_file = work / f"keys-{time.time_ns()}.json"
    # Parents of their own for the warm-up, so the measured ones are in the same state.
    await asyncio.to_thread(populate, url, key_file, args.parents + WARM_UP)
    warm_up = requests(WARM_UP, WARM_UP, first=args.parents)
    env = {k: v for k, v in os.environ.items() if not k.startswith("STEMME_")}
    env.update(STEMME_DATABASE_URL=url, STEMME_KEY_FILE=str(key_file),
               STEMME_DATA_DIR=str(work / "data"), STEMME_PUBLIC_URL=PUBLIC_URL,
               STEMME_QUIET_HOURS="", STEMME_TWILIO_ACCOUNT_SID=ACCOUNT_SID,
               STEMME_TWILIO_AUTH_TOKEN=AUTH_TOKEN, STEMME_TWILIO_FROM=FROM,
               # Nothing is sent (no dispatcher); an address that refuses, to be sure.
               STEMME_TWILIO_API_URL="http://127.0.0.1:9",
               STEMME_WRITER_PROCESS=str(writer_process).lower())
    proc, base = start("stemme", env)
    try:
        await wait_ready(base, proc)
        await drive(base, warm_up, args.concurrency, args.time_limit)
        await until_processed(url, WARM_UP, time.perf_counter() + args.time_limit)
        sent = await drive(base, reqs, args.concurrency, args.time_limit)
        done = await until_processed(url, WARM_UP + sent["ok"],
                                     sent["started"] + args.time_limit) - WARM_UP
        elapsed = time.perf_counter() - sent["started"]
    finally:
        stop(proc)
    return {"messages_per_second": round(done / elapsed, 1),
            "acknowledged_per_second": round(sent["ok"] / sent["seconds"], 1),
            "acknowledged": sent["ok"], "processed": done, "rejected": sent["failed"],
            "seconds": round(elapsed, 2)}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    reqs = requests(args.requests, args.parents)
    results: dict[str, Any] = {"requests": args.requests, "concurrency": args.concurrency,
                               "cpus": os.cpu_count()}
    # Bare runs before and after SQLite, and the faster counts: a moment when the machine was
    # busy elsewhere must not flatter the ratio.
    bare_runs = [await bench_bare(reqs, args.concurrency, args.time_limit)]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        results["sqlite"] = await bench_stemme(f"sqlite:///{work / 'inbound.db'}", work, args,
                                               reqs)
        results["sqlite_writer_process"] = await bench_stemme(
            f"sqlite:///{work / 'inbound-wp.db'}", work, args, reqs, writer_process=True)
        bare_runs.append(await bench_bare(reqs, args.concurrency, args.time_limit))
        if args.postgres:
            with temporary_schema(args.postgres, "bench_inbound") as url:
                results["postgresql"] = await bench_stemme(url, work, args, reqs)
            with temporary_schema(args.postgres, "bench_inbound_wp") as url:
                results["postgresql_writer_process"] = await bench_stemme(
                    url, work, args, reqs, writer_process=True)
    results["bare_aiohttp"] = max(bare_runs, key=lambda run: run["requests_per_second"])
    results["bare_aiohttp"]["runs"] = [run["requests_per_second"] for run in bare_runs]
    bare = results["bare_aiohttp"]["requests_per_second"]
    for name in MODES:
        if name in results:
            results[name]["ratio_to_bare"] = round(
                results[name]["messages_per_second"] / bare, 3)
    return results


def main() -> None:
    """Run the benchmark (or, with --serve-*, be one of its servers) and print the numbers."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--parents", type=int, default=1000)
    parser.add_argument("--time-limit", type=float, default=120.0)
    parser.add_argument("--postgres", default=os.environ.get("STEMME_TEST_POSTGRES_URL"))
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--serve-bare", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--serve-stemme", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        serve_bare(args.serve_bare)
        return
    if args.serve_stemme:
        serve_stemme(args.serve_stemme)
        return
    results = asyncio.run(run(args))
    if args.json:
        print(json.dumps(results))
        return
    bare = results["bare_aiohttp"]["requests_per_second"]
    print(f"{args.requests:,} signed inbound SMS webhooks, {args.concurrency} in flight, "
          f"{results['cpus']} CPUs")
    runs = " and ".join(f"{run:,.0f}" for run in results["bare_aiohttp"]["runs"])
    print(f"{'bare aiohttp':>23}: {bare:>8,.0f} requests/s (the faster of {runs})")
    for name in MODES:
        if name not in results:
            continue
        r = results[name]
        print(f"{MODES[name]:>23}: {r['messages_per_second']:>8,.0f} messages/s processed durably "
              f"({r['acknowledged_per_second']:,.0f}/s acknowledged; {r['processed']:,} of "
              f"{r['acknowledged']:,} in {r['seconds']} s) = {r['ratio_to_bare']:.3f} of bare")


if __name__ == "__main__":
    main()
