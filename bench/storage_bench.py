"""Encrypted answer inserts per second on SQLite (and PostgreSQL when a URL is given).

Usage: python bench/storage_bench.py [--count N] [--postgres URL] [--json]
Every insert seals the score with the rater's data key (AES-GCM) and commits in batches of
one survey (4 items), as the flow engine does.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pgschema import temporary_schema  # noqa: E402
from sqlmodel import Session  # noqa: E402

from storage.blind_index import BlindIndex  # noqa: E402
from storage.db import make_engine  # noqa: E402
from storage.keys import KeyRing  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.repo import cases  # noqa: E402
from storage.repo.answers import ItemScore, record_answer  # noqa: E402
from storage.repo.users import create_user  # noqa: E402
from storage.vault import Vault  # noqa: E402

ITEMS = ("me", "family", "school", "overall")


def bench(url: str, count: int, workdir: Path) -> dict[str, float]:
    """Insert `count` sealed answers (count/4 surveys); returns answers/s and surveys/s."""
    engine = make_engine(url)
    upgrade(engine)
    ring = KeyRing.load(workdir / f"keys-{abs(hash(url))}.json")
    vault, index = Vault(ring), BlindIndex(ring)
    with Session(engine, expire_on_commit=False) as session:
        user = create_user(session, email=f"bench{time.time_ns()}@example.org",
                           role="caseworker", password=None)
        case = cases.create_case(session, vault, ref="BENCH", child_name="Bench Child",
                                 birth_date=date(2014, 1, 1), caseworker_id=user.id)
        raters = [cases.add_participant(session, vault, index, case=case, role="parent",
                                        channel="sms", phone=f"+45 20 00 00 {i:02d}")
                  for i in range(10)]
        session.commit()
    now = datetime.now(UTC)
    surveys = count // len(ITEMS)
    start = time.perf_counter()
    with Session(engine, expire_on_commit=False) as session:
        for n in range(surveys):
            rater = raters[n % len(raters)]
            for i, item in enumerate(ITEMS):
                record_answer(session, vault, rater,
                              ItemScore("outcome-observer", "1", item, float((n + i) % 11)),
                              answered_at=now)
            session.commit()  # one survey per transaction, like the real pipeline
    elapsed = time.perf_counter() - start
    engine.dispose()
    return {"answers_per_second": round(surveys * len(ITEMS) / elapsed, 1),
            "surveys_per_second": round(surveys / elapsed, 1), "answers": surveys * len(ITEMS)}


def main() -> None:
    """Run the benchmark and print the numbers."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--postgres", default=os.environ.get("STEMME_TEST_POSTGRES_URL"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        results["sqlite"] = bench(f"sqlite:///{work / 'bench.db'}", args.count, work)
        if args.postgres:
            with temporary_schema(args.postgres, "bench_storage") as url:
                results["postgresql"] = bench(url, args.count, work)
    if args.json:
        print(json.dumps(results))
        return
    for backend, numbers in results.items():
        print(f"{backend:>10}: {numbers['answers_per_second']:>9,.0f} encrypted answers/s "
              f"({numbers['surveys_per_second']:,.0f} surveys/s, one commit per survey, "
              f"{numbers['answers']:,} answers)")


if __name__ == "__main__":
    main()
