"""Train the risk model shipped in bot/flows/risk_model.json from the tuning sets.

Usage: python bench/train_risk_model.py [--sets tune,tune2,...] [--out FILE] [--json]

Only tuning sets are read (every tests/fixtures/safety/*.jsonl but test.jsonl, which is never
tuned on and is refused here). Features are `bot.flows.risk_model.features`, binary, the
vector scaled to unit length; features seen in fewer than two messages are dropped. The model
is scikit-learn's multinomial logistic regression with balanced class weights (a category has
a few dozen messages, harmless has hundreds). Weights are written as integers with one scale,
so that the file stays small and diffs stay readable. scikit-learn is a development
dependency: the service only reads the weights. Training is deterministic: the same sets give
the same file.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.flows.risk_model import MODEL_PATH, features  # noqa: E402

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "safety"
C = 30.0  # weak regularisation: the sets are small and written to differ from each other
MIN_MESSAGES = 2  # a feature must occur in this many messages to be kept
LEVELS = 1_000  # the largest stored weight is this integer


def tuning_sets() -> list[str]:
    """Every tuning set's name, in order."""
    return sorted(path.stem for path in FIXTURES.glob("*.jsonl") if path.stem != "test")


def load(names: list[str]) -> tuple[list[str], list[str]]:
    """The texts and labels of the named sets."""
    texts: list[str] = []
    labels: list[str] = []
    for name in names:
        if name == "test":
            raise SystemExit("test.jsonl is never trained on; name tuning sets only")
        for line in (FIXTURES / f"{name}.jsonl").read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                texts.append(row["text"])
                labels.append(row["label"])
    return texts, labels


@dataclass
class Fitted:
    """A trained model with what it needs to read a message the way training did."""

    vectorizer: Any  # sklearn DictVectorizer over every feature seen
    keep: Any  # numpy mask of the features kept
    model: Any  # sklearn LogisticRegression
    messages: int

    def risk(self, texts: list[str]) -> list[float]:
        """scikit-learn's own risk (1 - P(harmless)) for each text: what the shipped
        weights must reproduce."""
        from sklearn.preprocessing import normalize

        rows = self.vectorizer.transform([dict.fromkeys(features(t), 1.0) for t in texts])
        probabilities = self.model.predict_proba(normalize(rows[:, self.keep]))
        harmless = list(self.model.classes_).index("harmless")
        return [1 - float(row[harmless]) for row in probabilities]


def fit(names: list[str], c: float = C) -> Fitted:
    """Train on the named sets."""
    import numpy as np
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import normalize

    texts, labels = load(names)
    vectorizer = DictVectorizer()
    counts = vectorizer.fit_transform([dict.fromkeys(features(text), 1.0) for text in texts])
    keep = np.asarray((counts > 0).sum(axis=0)).ravel() >= MIN_MESSAGES
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=5000)
    model.fit(normalize(counts[:, keep]), labels)
    return Fitted(vectorizer, keep, model, len(texts))


def to_json(fitted: Fitted, names: list[str]) -> dict[str, object]:
    """The JSON object risk_model.json holds for a trained model."""
    import numpy as np

    model = fitted.model
    coef = model.coef_.T  # features x classes
    scale = float(np.abs(coef).max()) / LEVELS
    stored = np.rint(coef / scale).astype(int)
    kept = fitted.vectorizer.get_feature_names_out()[fitted.keep]
    weights = {str(name): [int(v) for v in row]
               for name, row in zip(kept, stored, strict=True) if row.any()}
    return {
        "trained_on": names, "messages": fitted.messages, "C": model.C,
        "classes": [str(label) for label in model.classes_],
        "intercepts": [round(float(b), 6) for b in model.intercept_],
        "scale": scale, "weights": dict(sorted(weights.items())),
    }


def main(argv: list[str] | None = None) -> int:
    """Train and write the model; print what was written."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", help="comma-separated tuning sets (default: all)")
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args(argv)
    names = args.sets.split(",") if args.sets else tuning_sets()
    if not args.json:
        print(f"training on {', '.join(names)} …", flush=True)
    model = to_json(fit(names), names)
    args.out.write_text(json.dumps(model, ensure_ascii=False, separators=(",", ":")) + "\n",
                        encoding="utf-8")
    summary = {"out": str(args.out), "trained_on": names, "messages": model["messages"],
               "features": len(model["weights"]),  # type: ignore[arg-type]
               "bytes": args.out.stat().st_size}
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"{summary['features']} features from {summary['messages']} messages "
              f"-> {args.out} ({summary['bytes'] // 1024} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
