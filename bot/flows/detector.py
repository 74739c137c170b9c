"""Risk detection as the engine asks for it: the lexicon's hits weighed by the model, and
what the model finds alone.

Measured on tuning sets written after the lexicon (bench/safety_eval.py), each half misses
what the other finds: the lexicon knows exact phrases and their everyday contexts, the model
knows how children spell and put things. A lexicon hit stands unless the model is all but
sure the message is harmless ("min bror slog mig i fifa"); the model alone raises a concern
only when it is very sure and knows enough of the message's words. The thresholds were set
on tuning sets, never on the test split.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from bot.flows.risk_model import RiskModel, load_model
from bot.flows.safety import Hit, Lexicon, load_lexicon

__all__ = ["MODEL_TERM", "Detector", "load_detector"]

LEXICON_STANDS = 0.4  # a lexicon hit stands while the model's risk is above this
MODEL_ALONE = 0.9  # the model alone raises a concern above this risk
MODEL_MIN_WORDS = 2  # ... in a message of this many words or more (one word is the lexicon's)
MODEL_TERM = "model"  # the term a concern found by the model alone is recorded with


@dataclass(frozen=True)
class Detector:
    """`scan` gives the categories a message raises, most serious first (as Lexicon.scan)."""

    lexicon: Lexicon = field(default_factory=load_lexicon)
    model: RiskModel | None = field(default_factory=load_model)

    def scan(self, text: str) -> tuple[Hit, ...]:
        """The concerns `text` raises; () when it raises none."""
        hits = self.lexicon.scan(text)
        if self.model is None or not any(char.isalpha() for char in text):
            return hits
        reading = self.model.read(text)
        if hits:
            # The model speaks only for the categories it was trained on: an organisation's
            # own lexicon may add others, and those stand as they are.
            kept = tuple(hit for hit in hits if hit.category not in self.model.classes
                         or reading.risk > LEXICON_STANDS)
            return kept
        if reading.risk > MODEL_ALONE and reading.words >= MODEL_MIN_WORDS:
            return (Hit(reading.category, MODEL_TERM),)
        return ()


@lru_cache(maxsize=4)
def load_detector(lexicon_path: Path | None = None) -> Detector:
    """The shipped model beside the lexicon in `lexicon_path` (or the shipped lexicon)."""
    return Detector(load_lexicon(lexicon_path), load_model())
