"""Risk detection measured on a labelled set: recall per category and false alarms.

Usage: python bench/safety_eval.py [--split NAME] [--lexicon FILE] [--model FILE]
                                   [--lexicon-only] [--json] [--misses]

The messages are in tests/fixtures/safety/: `test.jsonl` was written apart from the lexicon
and is never tuned on, and the numbers to quote are its (the default split); every other file
there is a tuning set (`tune.jsonl`, then `tune2.jsonl` and on, each written later by another
hand for another round of work on the lexicon). What is measured is the detector the engine
uses (`bot.flows.detector`: the lexicon weighed by the model trained on the tuning sets);
`--lexicon-only` measures the lexicon alone. A risky message counts as found when the
detector raises any category for it (that is what reaches the caseworker); the category it
names first is reported beside it, since the reply fits that category. A harmless message
that raises any category is a false alarm. `--misses` lists what a tuning split missed or
flagged wrongly; it refuses the test split, so that nobody tunes on it by accident.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.flows.detector import Detector  # noqa: E402
from bot.flows.risk_model import load_model  # noqa: E402
from bot.flows.safety import Hit, load_lexicon  # noqa: E402

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "safety"
HARMLESS = "harmless"


@dataclass(frozen=True)
class Example:
    """One labelled message."""

    text: str
    label: str
    lang: str


@dataclass
class Scores:
    """What the lexicon did with one split."""

    found: Counter[str]
    named: Counter[str]  # found and named this category first
    total: Counter[str]
    false_alarms: int
    harmless: int
    misses: list[Example]
    alarms: list[tuple[Example, str]]

    @property
    def risky(self) -> int:
        """How many risky messages there were."""
        return sum(self.total.values())

    def recall(self, label: str | None = None) -> float:
        """Share of risky messages (of one category, or all) that raised an alert."""
        if label is None:
            return sum(self.found.values()) / max(1, self.risky)
        return self.found[label] / max(1, self.total[label])

    @property
    def false_positive_rate(self) -> float:
        """Share of harmless messages that raised an alert."""
        return self.false_alarms / max(1, self.harmless)

    def as_dict(self) -> dict[str, object]:
        """The numbers, ready for JSON."""
        return {
            "recall": round(self.recall(), 4),
            "false_positive_rate": round(self.false_positive_rate, 4),
            "risky": self.risky, "harmless": self.harmless,
            "categories": {label: {"n": self.total[label],
                                   "recall": round(self.recall(label), 4),
                                   "category_named": round(
                                       self.named[label] / max(1, self.total[label]), 4)}
                           for label in sorted(self.total)},
        }


def load_split(split: str) -> list[Example]:
    """The labelled messages of one split."""
    lines = (FIXTURES / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()
    return [Example(row["text"], row["label"], row["lang"])
            for row in map(json.loads, filter(None, lines))]


class Scanner(Protocol):
    """The lexicon or the detector: anything that scans a message for concerns."""

    def scan(self, text: str) -> tuple[Hit, ...]: ...


def evaluate(lexicon: Scanner, examples: list[Example]) -> Scores:
    """Run the lexicon or detector over every example."""
    scores = Scores(Counter(), Counter(), Counter(), 0, 0, [], [])
    for example in examples:
        hits = lexicon.scan(example.text)
        if example.label == HARMLESS:
            scores.harmless += 1
            if hits:
                scores.false_alarms += 1
                scores.alarms.append((example, hits[0].category))
            continue
        scores.total[example.label] += 1
        if hits:
            scores.found[example.label] += 1
            if hits[0].category == example.label:
                scores.named[example.label] += 1
        else:
            scores.misses.append(example)
    return scores


def main() -> int:
    """Print the split's numbers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    splits = sorted(path.stem for path in FIXTURES.glob("*.jsonl"))
    parser.add_argument("--split", choices=splits, default="test")
    parser.add_argument("--lexicon", type=Path, default=None)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--lexicon-only", action="store_true")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--misses", action="store_true")
    args = parser.parse_args()
    if args.misses and args.split == "test":
        parser.error("--misses is for the tuning split only: the test split is never tuned on")
    lexicon = load_lexicon(args.lexicon)
    scanner: Scanner = lexicon if args.lexicon_only else Detector(lexicon, load_model(args.model))
    scores = evaluate(scanner, load_split(args.split))
    if args.json:
        print(json.dumps({"split": args.split, **scores.as_dict()}))
        return 0
    print(f"split {args.split}: {scores.risky} risky, {scores.harmless} harmless messages")
    print(f"{'category':<18}{'n':>5}{'recall':>9}{'named':>8}")
    for label in sorted(scores.total):
        named = scores.named[label] / max(1, scores.total[label])
        print(f"{label:<18}{scores.total[label]:>5}{scores.recall(label):>9.3f}{named:>8.3f}")
    print(f"{'overall':<18}{scores.risky:>5}{scores.recall():>9.3f}")
    print(f"false positives: {scores.false_alarms} of {scores.harmless} "
          f"({scores.false_positive_rate:.3f})")
    if args.misses:
        for example in scores.misses:
            print(f"MISS  {example.label:<16} {example.text}")
        for example, category in scores.alarms:
            print(f"ALARM {category:<16} {example.text}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
