"""Due-prompt sweep throughput and memory: prompts started per second at 10k and 100k due.

Usage: python bench/sweep_bench.py [--sizes 10000,100000] [--postgres URL] [--json]
Each prompt start is the real one: the flow engine's first step, the sealed conversation state
and the sealed outbox messages, written in the sweep's batch transaction. Peak memory is
the sweeping process's maximum resident set size (a fresh process that only sweeps); it
must not grow with the number due.

Like the raters of one session, the participants come three to a case (parents on web chat)
and fall due together; every case has its own child, so the engine's first step is computed
once per case in a batch, as it would be for real cases.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pgschema import temporary_schema  # noqa: E402
from sqlalchemy import insert  # noqa: E402
from sqlmodel import Session  # noqa: E402

from bot.conversation.host import Surveys  # noqa: E402
from consent import agreements  # noqa: E402
from scheduler.sweep import SweepConfig, sweep_due  # noqa: E402
from storage.db import make_engine  # noqa: E402
from storage.keys import KeyRing  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Consent, DuePrompt, Participant, new_id  # noqa: E402
from storage.repo import cases  # noqa: E402
from storage.repo.users import create_user  # noqa: E402
from storage.vault import Vault  # noqa: E402

NOW = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)


def populate(engine, vault: Vault, count: int) -> None:  # type: ignore[no-untyped-def]
    """`count` webchat parents, three to a case, each agreed and with one due prompt."""
    with Session(engine, expire_on_commit=False) as session:
        worker = create_user(session, email=f"b{time.time_ns()}@example.org",
                             role="caseworker", password=None)
        case_list = [cases.create_case(session, vault, ref=f"B{i}", child_name=f"Barn{i}",
                                       birth_date=date(2014, 1, 1), caseworker_id=worker.id)
                     for i in range(count // 3 + 1)]
        session.commit()
        batch_people, batch_consents, batch_prompts = [], [], []
        for n in range(count):
            case = case_list[n // 3]
            person = Participant(id=new_id(), case_id=case.id, role="parent",
                                 channel="webchat", rates_sessions=True)
            vault.seal(session, person, "name", f"Forælder {n}")  # creates its data key
            batch_people.append(person)
            batch_consents.append({"id": new_id(), "participant_id": person.id,
                                   "channel": "webchat", "action": "given", "given_by": "self",
                                   "scope": agreements.DEFAULT_SCOPE, "text_version": "1",
                                   "language": "da", "recorded_by": "bench",
                                   "created_at": NOW - timedelta(days=1)})
            batch_prompts.append({"id": new_id(), "case_id": case.id,
                                  "participant_id": person.id, "kind": "adhoc",
                                  "dedupe_key": "bench", "due_at": NOW - timedelta(minutes=5),
                                  "status": "pending", "attempts": 0,
                                  "created_at": NOW - timedelta(minutes=5)})
            if len(batch_people) == 2000 or n == count - 1:
                session.add_all(batch_people)
                session.flush()
                session.execute(insert(Consent), batch_consents)
                session.execute(insert(DuePrompt), batch_prompts)
                session.commit()
                batch_people, batch_consents, batch_prompts = [], [], []
                print(f"  populated {n + 1:,}/{count:,}", end="\r", file=sys.stderr)
    print(file=sys.stderr)


def peak_rss_kib() -> int:
    """This process's peak resident set size since it started, in KiB.

    Linux's VmHWM, not getrusage: ru_maxrss survives exec, so a process started by one that
    had just populated 100k rows would report the parent's size as its own peak.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def sweep_only(url: str, key_file: Path) -> dict[str, float]:
    """Sweep everything due (in this process) and report speed and peak memory."""
    engine = make_engine(url)
    surveys = Surveys(Vault(KeyRing.load(key_file)))

    began = time.perf_counter()
    result = sweep_due(engine, NOW, SweepConfig(quiet=None, batch=500), surveys.start_due,
                       "bench", max_batches=10_000)
    elapsed = time.perf_counter() - began
    engine.dispose()
    peak_kib = peak_rss_kib()
    return {"started": result.started, "seconds": round(elapsed, 1),
            "prompts_per_second": round(result.started / elapsed, 1),
            "peak_mib": round(peak_kib / 1024, 1)}


def run(url: str, count: int, work: Path) -> dict[str, float]:
    """Populate here, then sweep in a fresh process so its memory is the sweep's alone."""
    key_file = work / f"keys-{count}-{abs(hash(url))}.json"
    engine = make_engine(url)
    upgrade(engine)
    populate(engine, Vault(KeyRing.load(key_file)), count)
    engine.dispose()
    out = subprocess.run([sys.executable, __file__, "--sweep-only", url, str(key_file)],
                         check=True, capture_output=True, text=True).stdout
    return {"due": count, **json.loads(out)}


def main() -> None:
    """Run the benchmark and print the numbers."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--postgres", default=None)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--sweep-only", nargs=2, metavar=("URL", "KEY_FILE"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sweep_only:
        print(json.dumps(sweep_only(args.sweep_only[0], Path(args.sweep_only[1]))))
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    results: dict[str, list[dict[str, float]]] = {"sqlite": []}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for size in sizes:
            results["sqlite"].append(run(f"sqlite:///{work / f'sweep-{size}.db'}", size, work))
        if args.postgres:
            results["postgresql"] = []
            for size in sizes:
                with temporary_schema(args.postgres, f"bench_sweep_{size}") as url:
                    results["postgresql"].append(run(url, size, work))
    if args.json:
        print(json.dumps(results))
        return
    for backend, rows in results.items():
        for row in rows:
            print(f"{backend:>10}: {row['due']:>7,} due -> {row['prompts_per_second']:>7,.0f} "
                  f"prompts started/s ({row['seconds']} s), peak {row['peak_mib']} MiB")


if __name__ == "__main__":
    main()
