"""Cases with a participant seeded per second over the JSON API, as a case system would.

Usage: python bench/seed_bench.py [--cases N] [--concurrency C] [--postgres URL] [--json]

A caseworker's bearer token is made straight in the database; then `stemme serve` (its own
process, SQLite by default) is sent, C at a time, POST /api/v1/cases followed by
POST /api/v1/cases/{id}/participants (a child on web chat, the custody holder's yes) for
each case. The rate is cases with their participant over the wall time of all requests.
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
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp  # noqa: E402
from pgschema import temporary_schema  # noqa: E402
from sqlmodel import Session  # noqa: E402

from dashboard.accounts import create_api_token  # noqa: E402
from storage.db import make_engine  # noqa: E402
from storage.models import utcnow  # noqa: E402
from storage.repo.users import create_user  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _seed(base: str, token: str, cases: int, concurrency: int) -> tuple[float, int]:
    limit = asyncio.Semaphore(concurrency)
    headers = {"Authorization": f"Bearer {token}"}
    failures = 0

    async def one(http: aiohttp.ClientSession, n: int) -> None:
        nonlocal failures
        async with limit:
            async with http.post(f"{base}/api/v1/cases", headers=headers, json={
                    "ref": f"K-{n}", "child_name": "Sofie", "birth_date": "2014-05-31"}) as r:
                if r.status != 201:
                    failures += 1
                    return
                case_id = (await r.json())["case_id"]
            async with http.post(f"{base}/api/v1/cases/{case_id}/participants", headers=headers,
                                 json={"role": "child", "channel": "webchat",
                                       "guardian_consent": True}) as r:
                failures += r.status != 201

    async with aiohttp.ClientSession() as http:
        began = time.perf_counter()
        await asyncio.gather(*(one(http, n) for n in range(cases)))
        return time.perf_counter() - began, failures


def main() -> int:
    """Run the bench and print its numbers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--postgres", default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="stemme-seed-") as tmp:
        work = Path(tmp)
        schema: AbstractContextManager[str] = (temporary_schema(args.postgres, "bench_seed")
                                               if args.postgres else
                                               nullcontext(f"sqlite:///{work / 'stemme.db'}"))
        with schema as url:
            port = _free_port()
            env = {k: v for k, v in os.environ.items() if not k.startswith("STEMME_")}
            env.update(PYTHONPATH=str(ROOT), STEMME_DATA_DIR=str(work / "data"),
                       STEMME_DATABASE_URL=url, STEMME_KEY_FILE=str(work / "keys.json"),
                       STEMME_PUBLIC_URL=f"http://127.0.0.1:{port}", STEMME_QUIET_HOURS="",
                       STEMME_SWEEP_SECONDS="3600")
            subprocess.run([sys.executable, "-m", "bot", "migrate", "--json"], env=env,
                           cwd=work, check=True, capture_output=True)
            engine = make_engine(url)
            with Session(engine) as session:
                user = create_user(session, email="cw@example.org", role="caseworker",
                                   password=None)
                _, token = create_api_token(session, user, name="bench", created_by="bench",
                                            now=utcnow())
                session.commit()
            engine.dispose()
            server = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--host",
                                       "127.0.0.1", "--port", str(port)], env=env, cwd=work,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                base = f"http://127.0.0.1:{port}"
                asyncio.run(_wait(base))
                seconds, failures = asyncio.run(_seed(base, token, args.cases,
                                                      args.concurrency))
            finally:
                server.terminate()
                server.wait(timeout=20)
    result: dict[str, Any] = {"cases": args.cases, "concurrency": args.concurrency,
                              "seconds": round(seconds, 2), "failures": failures,
                              "cases_per_second": round(args.cases / seconds, 1),
                              "database": "postgresql" if args.postgres else "sqlite"}
    print(json.dumps(result) if args.json else
          f"{result['cases_per_second']} cases with a participant per second over the API "
          f"({args.cases} in {result['seconds']} s, {failures} failed, {result['database']})")
    return 0 if not failures else 1


async def _wait(base: str) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(200):
            try:
                async with http.get(f"{base}/healthz") as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("the server did not start")


if __name__ == "__main__":
    raise SystemExit(main())
