"""The learned half of risk detection: a linear model over folded words and letter runs.

The lexicon (safety.py) knows the words it was written with; children write the same things
in ways nobody listed. This model was trained (bench/train_risk_model.py, scikit-learn's
multinomial logistic regression) on the tuning sets in tests/fixtures/safety/ and is shipped
as plain weights, so reading a message needs nothing but the standard library: the features
of the message, each feature's weight per class, a softmax. The classes are the contract's
categories and `harmless`; the chance that a message is not harmless is its risk.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from bot.flows.normalise import fold

__all__ = ["HARMLESS", "MODEL_PATH", "RiskModel", "features", "load_model"]

MODEL_PATH = Path(__file__).parent / "risk_model.json"
HARMLESS = "harmless"
CHAR_NGRAMS = (3, 5)  # letter runs of three to five, read inside each word padded with spaces


def words_of(text: str) -> list[str]:
    """The folded words of `text` the model reads. Numbers are left out: a rating beside the
    words says nothing of them either way."""
    return [word for word in fold(text) if not word.isdigit()]


def features(text: str) -> set[str]:
    """The features of `text`: its folded words, pairs of neighbouring words and the letter
    runs inside each word."""
    return features_of(words_of(text))


def features_of(words: list[str]) -> set[str]:
    """The features of folded `words` (see `features`)."""
    found: set[str] = set()
    low, high = CHAR_NGRAMS
    for word in words:
        found.add("w:" + word)
        padded = f" {word} "
        for size in range(low, high + 1):
            for start in range(len(padded) - size + 1):
                found.add("c:" + padded[start:start + size])
    for first, second in zip(words, words[1:], strict=False):
        found.add(f"b:{first}_{second}")
    return found


@dataclass(frozen=True, slots=True)
class Reading:
    """What the model makes of one message: its risk and the likeliest risky category."""

    risk: float  # 1 - P(harmless)
    category: str  # the likeliest class that is not harmless
    known: int  # how many of the message's features the model has weights for
    words: int  # how many words (not numbers) the message has


class RiskModel:
    """Weights per feature and class; `read` scores one message."""

    def __init__(self, classes: list[str], intercepts: list[float],
                 weights: dict[str, list[float]]) -> None:
        if HARMLESS not in classes:
            raise ValueError("a risk model needs a 'harmless' class")
        self.classes = tuple(classes)
        self._intercepts = intercepts
        self._weights = weights
        self._harmless = classes.index(HARMLESS)

    @classmethod
    def from_json(cls, text: str) -> RiskModel:
        """A model from the JSON bench/train_risk_model.py writes: weights are stored as
        integers to be multiplied by `scale`."""
        data = json.loads(text)
        scale = float(data["scale"])
        weights = {feature: [value * scale for value in values]
                   for feature, values in data["weights"].items()}
        return cls(list(data["classes"]), [float(b) for b in data["intercepts"]], weights)

    def read(self, text: str) -> Reading:
        """The model's risk for `text`. Features are binary and the vector has unit length,
        as in training."""
        words = words_of(text)
        known = [self._weights[f] for f in features_of(words) if f in self._weights]
        scores = list(self._intercepts)
        if known:
            value = 1 / math.sqrt(len(known))
            for row in known:
                for index, weight in enumerate(row):
                    scores[index] += weight * value
        top = max(scores)
        exp = [math.exp(score - top) for score in scores]
        total = sum(exp)
        risky = max((i for i in range(len(scores)) if i != self._harmless),
                    key=scores.__getitem__)
        return Reading(risk=1 - exp[self._harmless] / total, category=self.classes[risky],
                       known=len(known), words=len(words))


@lru_cache(maxsize=4)
def load_model(path: Path | None = None) -> RiskModel:
    """The model in `path`, or the shipped one; cached per path."""
    return RiskModel.from_json((path or MODEL_PATH).read_text(encoding="utf-8"))
