"""What the host tells the engine about the person it is talking to (never stored in state)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from bot.flows.catalogue import Catalogue, load_catalogue
from bot.flows.detector import Detector, load_detector
from bot.flows.instruments import Instrument, load_instruments
from bot.flows.messages import Capabilities

Language = Literal["da", "en"]
Rater = Literal["child", "parent", "foster_parent", "teacher", "pedagogue", "other"]
AgeBand = Literal["0-5", "6-12", "13-17", "18+"]
# Who reads the messages, which decides the wording: an adult reading aloud to a child under
# six ("young"), a child 6-12, a young person 13-17, an adult about themself, or an adult
# rating a child ("observer").
Audience = Literal["young", "child", "youth", "adult", "observer"]

RATERS: tuple[Rater, ...] = ("child", "parent", "foster_parent", "teacher", "pedagogue", "other")
AGE_BANDS: tuple[AgeBand, ...] = ("0-5", "6-12", "13-17", "18+")
MAX_GOALS = 3

_SELF_AUDIENCE: dict[AgeBand, Audience] = {
    "0-5": "young",
    "6-12": "child",
    "13-17": "youth",
    "18+": "adult",
}
# How to speak of the child when no first name may be shown (SMS, or unknown): a parent hears
# "your child", anyone else "the child".
_UNNAMED_CHILD: dict[tuple[Language, bool], str] = {
    ("da", True): "dit barn",
    ("da", False): "barnet",
    ("en", True): "your child",
    ("en", False): "the child",
}


@dataclass(frozen=True)
class FlowContext:
    """Everything the engine may know about the person; the host fills it in for each step."""

    language: Language
    rater: Rater
    age_band: AgeBand  # the child's age band (for a child rating themself: their own)
    capabilities: Capabilities
    instruments: Mapping[str, Instrument]
    catalogue: Catalogue
    child_name: str | None = None  # first name only; None on SMS
    goals: Mapping[str, str] = field(default_factory=dict)  # goal id -> the child's own words
    ask_consent: bool = False  # the person has not said yes to contact yet
    detector: Detector = field(default_factory=load_detector)
    # Discreet: a message may reach the wrong phone, so it names no child and no goal. None
    # means "discreet exactly when the channel is SMS-bound".
    discreet: bool | None = None

    @classmethod
    def create(
        cls,
        language: Language,
        rater: Rater,
        age_band: AgeBand,
        capabilities: Capabilities,
        *,
        text_packs_dir: Path | None = None,
        child_name: str | None = None,
        goals: Mapping[str, str] | None = None,
        ask_consent: bool = False,
        lexicon_path: Path | None = None,
    ) -> FlowContext:
        """A context with the shipped catalogues, risk detector and instruments (and a text
        pack)."""
        return cls(
            language=language,
            rater=rater,
            age_band=age_band,
            capabilities=capabilities,
            instruments=load_instruments(text_packs_dir),
            catalogue=load_catalogue(language),
            child_name=child_name,
            goals=dict(goals or {}),
            ask_consent=ask_consent,
            detector=load_detector(lexicon_path),
        )

    @property
    def is_discreet(self) -> bool:
        """True when messages must reveal nothing about the child or the case."""
        if self.discreet is not None:
            return self.discreet
        return self.capabilities.gsm7_segments is not None

    @property
    def audience(self) -> Audience:
        """Whose reading level and point of view the wording is written for."""
        if self.rater != "child":
            return "observer"
        return _SELF_AUDIENCE[self.age_band]

    @property
    def child(self) -> str:
        """How to name the child in a message: the first name, or a discreet phrase."""
        name = (self.child_name or "").strip()
        if name and not self.is_discreet:
            return name
        return _UNNAMED_CHILD[(self.language, self.rater in ("parent", "foster_parent"))]
