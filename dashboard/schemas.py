"""The JSON API's request and response bodies (pydantic v2), from which OpenAPI is built."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, StringConstraints

Role = Literal["child", "parent", "foster_parent", "teacher", "pedagogue", "other"]
Channel = Literal["telegram", "sms", "webchat"]
Language = Literal["da", "en"]
Urgency = Literal["safety", "not_on_track", "alliance", "divergence", "missing", "on_track",
                  "waiting"]
ID = r"^[0-9a-f]{32}$"
# Printable text with at least one visible character (no control characters in stored text).
TEXT = r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"
Goal = Annotated[str, StringConstraints(max_length=200, pattern=TEXT)]


class Request(BaseModel):
    """A request body: strict types, unknown fields refused."""

    model_config = ConfigDict(extra="forbid", strict=True)


class ErrorOut(BaseModel):
    """Every error: a stable code and a message saying what to change."""

    error: str = Field(examples=["not_found"])
    message: str
    field: str | None = None


class MeOut(BaseModel):
    """The user a token acts as."""

    user_id: str
    email: str
    role: Literal["caseworker", "admin"]


class CaseCreate(Request):
    """A new case; `caseworker_email` (admins only) gives it to another caseworker."""

    ref: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._/-]*$",
                     examples=["K-2026-001"])
    child_name: str = Field(min_length=1, max_length=120, pattern=TEXT, examples=["Sofie"])
    birth_date: date = Field(examples=["2014-05-31"])
    cadence: str = Field(default="law-minimum", max_length=64, examples=["haderslev"])
    caseworker_email: str | None = Field(default=None, max_length=254)
    provider: str | None = Field(default=None, max_length=120,
                                 description="The case's provider organisation (its name): "
                                 "its provider users see the ratings, words and sessions.",
                                 examples=["Familiehuset"])


class CaseUpdate(Request):
    """Change the cadence (a shipped name and/or a per-case override), the goals or the
    provider organisation (a name; null or "" for none)."""

    cadence: str | None = Field(default=None, max_length=64)
    cadence_override: str | None = Field(default=None, max_length=200,
                                         examples=["first 4w, every 6w"])
    goals: list[Goal] | None = Field(default=None, max_length=3)
    provider: str | None = Field(default=None, max_length=120, examples=["Familiehuset"])


class AgreementOut(BaseModel):
    """The person's agreement to contact on their channel."""

    self_agreed: bool
    guardian_agreed: bool
    withdrawn: bool


class ParticipantOut(BaseModel):
    """A rater in a case."""

    participant_id: str
    case_id: str
    role: Role
    channel: Channel
    language: Language
    name: str | None
    status: str
    telegram_linked: bool
    agreement: AgreementOut
    contact_window: str | None = Field(default=None, examples=["mon-fri 08:00-16:00"])
    rates_sessions: bool = True


class ParticipantList(BaseModel):
    """The raters of a case."""

    participants: list[ParticipantOut]


class ParticipantCreate(Request):
    """A new rater; `guardian_consent` records a custody holder's yes for a child under 15."""

    role: Role
    channel: Channel
    name: str | None = Field(default=None, max_length=120, pattern=TEXT)
    phone: str | None = Field(default=None, max_length=40, examples=["+45 12 34 56 78"])
    language: Language = "da"
    guardian_consent: bool = False


class ParticipantUpdate(Request):
    """How a rater is asked; only the fields given change. `contact_window`: when they may be
    contacted (`mon-fri 08:00-16:00`; null or "" for quiet hours only); `rates_sessions`:
    true after each session, false on the case's follow-up cadence."""

    contact_window: str | None = Field(default=None, max_length=100,
                                       examples=["mon-fri 08:00-16:00"])
    rates_sessions: bool | None = None


class ParticipantCreated(BaseModel):
    """The new rater and, for chat channels, the invite (shown this once)."""

    participant: ParticipantOut
    invite_code: str | None
    invite_url: str | None


class GoalOut(BaseModel):
    """One of the child's goals, in their own words."""

    goal_id: str
    position: int
    text: str


class AlertOut(BaseModel):
    """A reason the case needs attention."""

    rule: str
    severity: Literal["urgent", "high", "normal"]
    raised_at: datetime
    participant_id: str | None
    rater_role: str | None
    detail: str
    reason: str


class CaseSummary(BaseModel):
    """A case in the list, with its urgency."""

    case_id: str
    ref: str
    child_name: str
    caseworker_email: str
    urgency: Urgency
    why: str
    last_rating_at: datetime | None
    next_prompt_at: datetime | None


class CaseList(BaseModel):
    """The caller's open cases (all open cases for an admin), the most urgent first."""

    cases: list[CaseSummary]


class CaseDetail(BaseModel):
    """One case: who rates, the goals, the cadence and why it needs attention."""

    case_id: str
    ref: str
    child_name: str | None
    child_birth_date: date | None
    caseworker_email: str
    status: str
    cadence: str
    cadence_override: str | None
    urgency: Urgency
    why: str
    goals: list[GoalOut]
    participants: list[ParticipantOut]
    alerts: list[AlertOut]
    next_prompt_at: datetime | None
    provider: str | None = Field(default=None, description="The provider organisation's name.")


class SessionCreate(Request):
    """A session (local time unless `at` has an offset), or a series with `every` and `until`."""

    at: datetime = Field(examples=["2026-12-01T15:00:00"])
    minutes: int = Field(default=45, ge=1, le=1440)
    every: str | None = Field(default=None, pattern=r"^[1-9][0-9]?[dw]$", examples=["1w"])
    until: date | None = None


class SessionOut(BaseModel):
    """A session after which ratings are asked."""

    session_id: str
    starts_at: datetime
    minutes: int
    series_id: str | None
    cancelled: bool


class SessionList(BaseModel):
    """Sessions of a case, in time order."""

    sessions: list[SessionOut]


class SessionCancel(Request):
    """Cancel one session, or (`series`) it and the later sessions of its series."""

    series: bool = False


class Cancelled(BaseModel):
    """How many sessions were cancelled."""

    cancelled: int


class AskOut(BaseModel):
    """A rating request: `started` when its first question is on its way now, else it waits
    until `due_at` (quiet hours, or the person's contact window)."""

    participant_id: str
    due_at: datetime
    started: bool = False


class AnswerOut(BaseModel):
    """One item answer, as in the JSON export."""

    answered_at: datetime
    participant_id: str
    rater_role: str
    instrument: str
    instrument_version: str
    item: str
    score: float | None
    partial: bool


class RatingOut(BaseModel):
    """One scored survey (the four items of a scale, or the goals)."""

    answered_at: datetime
    participant_id: str
    rater_role: str
    kind: Literal["outcome", "session", "goal"]
    instrument: str
    total: float | None
    partial: bool


class RatingsOut(BaseModel):
    """A case's answers and the ratings scored from them, oldest first."""

    case_id: str
    answers: list[AnswerOut]
    ratings: list[RatingOut]


class StoredAlertOut(BaseModel):
    """A stored alert: when it was raised, whose words, and whether it has been assessed."""

    alert_id: str
    rule: str
    severity: Literal["urgent", "high", "normal"]
    category: str | None = Field(description="Safety alerts only: suicide, self_harm, "
                                 "violence, sexual_abuse, neglect, parent_substance, "
                                 "leave_home, threats, forced_control or asked_for_help.",
                                 examples=["self_harm"])
    raised_at: datetime
    deadline_at: datetime | None = Field(description="When it must be assessed by.")
    participant_id: str | None
    participant_role: str | None
    words: str | None = Field(description="What the person wrote that raised a safety alert "
                              "(reading it is audited); null when nothing was written (the "
                              "help button), once they were erased, and in the answer to "
                              "an acknowledgement.")
    written_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None = Field(description="The e-mail of who assessed it.")
    note: str | None
    detail: str | None = Field(default=None, description="A scoring rule's alert (not "
                               "safety): what it measured, in English.")
    cleared_at: datetime | None = Field(default=None, description="A scoring rule's alert: "
                                        "when the rule stopped holding (null while it holds, "
                                        "and always for safety alerts).")


class AlertsOut(BaseModel):
    """A case's stored alerts, oldest first, with where the case stands now and why."""

    case_id: str
    urgency: Urgency
    why: str
    alerts: list[StoredAlertOut]
    reasons: list[AlertOut] = Field(description="The rules' reasons behind the urgency now, "
                                    "most urgent first.")


class AlertAck(Request):
    """Mark an alert as assessed, with a note saying what was done or decided."""

    note: str = Field(min_length=1, max_length=2000, pattern=r"\S",
                      examples=["Talked with the child at school today; plan agreed."])


class CaseClose(Request):
    """Close a case: nobody is asked anything after this; everything is kept (retention)."""

    reason: str | None = Field(default=None, max_length=500, pattern=TEXT,
                               examples=["The measure ended as planned."])


class CaseHandover(Request):
    """Move a case to another active user (its open alerts go with it)."""

    to: str = Field(min_length=3, max_length=254, examples=["anna@kommune.dk"])


class CaseState(BaseModel):
    """Where a case stands after a close, reopen or hand-over."""

    case_id: str
    status: Literal["open", "closed"]
    closed_at: datetime | None
    caseworker_email: str
    goodbyes: int = Field(description="Goodbye messages queued by this close (0 otherwise).")


class MessageFlag(BaseModel):
    """The safety alert a message raised."""

    category: str = Field(description="suicide, self_harm, violence, sexual_abuse, neglect, "
                          "parent_substance, leave_home, threats, forced_control or "
                          "asked_for_help.", examples=["self_harm"])


class MessageOut(BaseModel):
    """What a participant wrote, exactly as written, and the safety alert it raised if any."""

    written_at: datetime
    participant_id: str
    rater_role: str
    text: str
    flag: MessageFlag | None


class MessageList(RootModel[list[MessageOut]]):
    """Everything a case's participants wrote, oldest first (an erased person's words are gone)."""


REQUEST_MODELS: tuple[type[BaseModel], ...] = (
    CaseCreate, CaseUpdate, ParticipantCreate, SessionCreate, SessionCancel, AlertAck,
    CaseClose, CaseHandover, ParticipantUpdate)
RESPONSE_MODELS: tuple[type[BaseModel], ...] = (
    ErrorOut, MeOut, CaseList, CaseDetail, ParticipantList, ParticipantCreated, SessionList,
    Cancelled, AskOut, RatingsOut, AlertsOut, ParticipantOut, StoredAlertOut, MessageList,
    CaseState)
