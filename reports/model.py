"""Plain input and output values of the reports package: answers, raters, cases, alerts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

# A rater's role as storage names it: child | parent | foster_parent | teacher | pedagogue | other
Role = str
Kind = Literal["outcome", "session", "goal"]
# The storage layer's vocabulary for alerts.severity.
Severity = Literal["urgent", "high", "normal"]

CHILD: Role = "child"


def _aware(value: datetime, name: str) -> None:
    # Naive datetimes would silently compare in local time; every timestamp here is UTC-aware.
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (UTC), got {value!r}")


@dataclass(frozen=True, slots=True)
class ItemAnswer:
    """One item of one survey as stored: the row behind every export line."""

    answered_at: datetime
    participant_id: str
    rater_role: Role
    instrument: str  # "outcome-child", "session-adult", "goals", ... (prefix gives the kind)
    instrument_version: str
    item: str  # stable item id: "me", "family", ... or a goal id
    score: float | None  # None: skipped
    partial: bool = False  # the survey was left unfinished
    survey_id: str | None = None  # the conversation that asked it; groups items into a Rating

    def __post_init__(self) -> None:
        _aware(self.answered_at, "ItemAnswer.answered_at")


@dataclass(frozen=True, slots=True)
class Rating:
    """One survey of one instrument by one rater, with its total when it can be scored."""

    answered_at: datetime  # when the first item was answered
    participant_id: str
    rater_role: Role
    kind: Kind
    instrument: str
    instrument_version: str
    items: Mapping[str, float | None]
    total: float | None  # None: too many items missing to score (see ScoringRules)
    partial: bool


@dataclass(frozen=True, slots=True)
class Rater:
    """A participant who rates; `label` is for the case file only, never for e-mail."""

    participant_id: str
    role: Role
    label: str | None = None


@dataclass(frozen=True, slots=True)
class Goal:
    """One of the child's goals; the text is the child's words and stays in the case file."""

    goal_id: str  # the item id its ratings carry
    position: int  # 1..3
    text: str | None = None


@dataclass(frozen=True, slots=True)
class Comment:
    """What a participant wrote, with its date: never in e-mail, only in the case file.

    `kind` is "comment" (the free-text question) or "message" (anything else they wrote);
    `flag` is the category of the safety alert these words raised, if any.
    """

    written_at: datetime
    participant_id: str
    rater_role: Role
    text: str
    kind: str = "comment"
    flag: str | None = None

    def __post_init__(self) -> None:
        _aware(self.written_at, "Comment.written_at")


@dataclass(frozen=True, slots=True)
class SafetyEvent:
    """A message flagged as a possible risk; carries no words of the message."""

    raised_at: datetime
    participant_id: str | None = None
    acknowledged_at: datetime | None = None

    def __post_init__(self) -> None:
        _aware(self.raised_at, "SafetyEvent.raised_at")


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """A stored alert row: the exports name a rule's alert by it (same rule, person, spell)."""

    alert_id: str
    rule: str
    raised_at: datetime
    participant_id: str | None = None
    category: str | None = None
    acknowledged_at: datetime | None = None
    free_text_id: str | None = None  # the words that raised it (safety)
    cleared_at: datetime | None = None  # a rule's spell ended (never for safety)


@dataclass(frozen=True, slots=True)
class PromptOutcome:
    """Whether one closed rating prompt to a participant was answered."""

    due_at: datetime
    participant_id: str
    answered: bool

    def __post_init__(self) -> None:
        _aware(self.due_at, "PromptOutcome.due_at")


@dataclass(frozen=True, slots=True)
class CaseData:
    """Everything the reports need about one case, decrypted by the caller."""

    case_id: str
    ref: str
    child_birth_date: date
    period: tuple[date, date]
    raters: tuple[Rater, ...] = ()
    answers: tuple[ItemAnswer, ...] = ()
    goals: tuple[Goal, ...] = ()
    comments: tuple[Comment, ...] = ()
    safety_events: tuple[SafetyEvent, ...] = ()
    prompts: tuple[PromptOutcome, ...] = ()
    alert_records: tuple[AlertRecord, ...] = ()  # stored alert rows, for the exports' ids

    def role_of(self, participant_id: str) -> Role | None:
        """The role of a participant of this case, or None when unknown."""
        for rater in self.raters:
            if rater.participant_id == participant_id:
                return rater.role
        return None


@dataclass(frozen=True, slots=True)
class Alert:
    """A flag raised by a rule; `rule` is one of the stable names in reports.alerts.RULES."""

    rule: str
    raised_at: datetime
    detail: str  # English, technical, free of names and of the child's words
    severity: Severity
    participant_id: str | None = None
    rater_role: Role | None = None
    value: float | None = None  # the measured number (change, total, difference, misses)
    threshold: float | None = None  # the number it was compared with
    extra: Mapping[str, float | str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _aware(self.raised_at, "Alert.raised_at")
