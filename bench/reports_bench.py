"""Benchmark of reports/: milliseconds per progression graph and time to build weekly digests.

Run: .venv/bin/python bench/reports_bench.py [--json] [--caseworkers 1000] [--cases 25]
Numbers are wall-clock medians after a warm-up; the digest run builds (not sends) one message
per caseworker from distinct synthetic cases, so no sparkline is served from the cache.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reports.chartparts import figure_bytes  # noqa: E402
from reports.digest import Caseworker, build_digest  # noqa: E402
from reports.graph import progress_figure, render_progress  # noqa: E402
from reports.journal import journal_pdf  # noqa: E402
from reports.sample import sample_case  # noqa: E402
from reports.sparkline import sparkline_png  # noqa: E402

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)


def _times(fn: Callable[[], object], repeat: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def _summary(ms: list[float]) -> dict[str, float]:
    ms = sorted(ms)
    return {
        "median_ms": round(statistics.median(ms), 2),
        "p90_ms": round(ms[int(len(ms) * 0.9) - 1], 2),
        "min_ms": round(ms[0], 2),
    }


def _distinct_sparklines() -> Callable[[], object]:
    # Every call draws a series never seen before, so the renderer's cache cannot help.
    counter = itertools.count()

    def draw() -> bytes:
        n = next(counter)
        return sparkline_png([(n * 7 + i * 13) % 400 / 10 for i in range(12)], cutoff=32)

    return draw


def bench_graphs(repeat: int) -> dict[str, dict[str, float]]:
    """A typical case: 20 weekly sessions, child + two parents + teacher, two goals."""
    case = sample_case(sessions=20, roles=("child", "parent", "parent", "teacher"))
    big = sample_case(sessions=60, roles=("child", "parent", "teacher"), seed=2)
    return {
        "graph_png": _summary(_times(lambda: render_progress(case), repeat)),
        "graph_png_60_sessions": _summary(_times(lambda: render_progress(big), repeat)),
        "graph_png_new_figure": _summary(
            _times(lambda: figure_bytes(progress_figure(case)), max(5, repeat // 3))
        ),
        "graph_svg": _summary(_times(lambda: render_progress(case, "svg"), max(5, repeat // 3))),
        "graph_pdf": _summary(_times(lambda: render_progress(case, "pdf"), max(5, repeat // 3))),
        "journal_pdf": _summary(
            _times(lambda: journal_pdf(case, generated_by="bench", generated_at=NOW), 3, 1)
        ),
        "sparkline_png_uncached": _summary(_times(_distinct_sparklines(), repeat * 10)),
    }


def bench_digests(caseworkers: int, per: int) -> dict[str, float]:
    """Build one digest per caseworker from `per` distinct cases each (cases made first)."""
    start = time.perf_counter()
    books = [
        [
            sample_case(sessions=12, seed=w * per + i, case_id=f"c{w}-{i}", ref=f"SAG-{w}-{i}")
            for i in range(per)
        ]
        for w in range(caseworkers)
    ]
    setup = time.perf_counter() - start
    start = time.perf_counter()
    sizes = 0
    for w, cases in enumerate(books):
        msg = build_digest(
            Caseworker(f"cw{w}@kommune.example"),
            cases,
            now=NOW,
            public_url="https://stemme.kommune.example",
            sender="Stemme <stemme@kommune.example>",
        )
        if w % 100 == 0:  # serialising every message would measure the email package instead
            sizes += len(msg.as_bytes())
    took = time.perf_counter() - start
    sampled = max(1, (caseworkers + 99) // 100)
    return {
        "caseworkers": caseworkers,
        "cases_each": per,
        "build_seconds": round(took, 2),
        "ms_per_caseworker": round(took / caseworkers * 1000, 2),
        "ms_per_case": round(took / (caseworkers * per) * 1000, 3),
        "mean_message_kb": round(sizes / sampled / 1024, 1),
        "setup_seconds_not_counted": round(setup, 2),
    }


def main() -> None:
    """Parse arguments, run, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--caseworkers", type=int, default=1000)
    parser.add_argument("--cases", type=int, default=25, help="cases per caseworker")
    parser.add_argument("--repeat", type=int, default=30, help="renders per graph measure")
    args = parser.parse_args()
    result: dict[str, object] = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_1min": round(os.getloadavg()[0], 2),
    }
    result.update(bench_graphs(args.repeat))
    result["digests"] = bench_digests(args.caseworkers, args.cases)
    if args.json:
        print(json.dumps(result))
        return
    for key, value in result.items():
        if isinstance(value, dict):
            print(f"{key}: " + ", ".join(f"{k}={v}" for k, v in value.items()))
        else:
            print(f"{key}: {value}")
    graph = result["graph_png"]
    assert isinstance(graph, dict)
    print(f"-> median PNG graph {graph['median_ms']} ms (target <= 40 ms)")


if __name__ == "__main__":
    main()
