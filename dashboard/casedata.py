"""What the dashboard shows about cases: the urgency-ordered list and one case's overview."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import cast

from sqlmodel import Session, col, select

from casework.access import Access, case_access, visible_cases
from consent import audit
from consent.agreements import SELF_CONSENT_AGE, AgreementState, age_on, state
from dashboard.i18n import t
from reports.alerts import CaseStatus, Urgency, case_status
from reports.casefile import load_case_data
from reports.categories import category_label
from reports.i18n import ROLE_NAMES, alert_line, rater_labels, status_line, texts, urgency_name
from reports.model import CHILD, CaseData, Rating
from reports.rules import DEFAULT_RULES, ScoringRules
from reports.scoring import band_on, case_ratings, series
from reports.sparkline import sparkline_svg
from scheduler.planner import PlanConfig
from storage.models import Case, DuePrompt, Meeting, Participant, User, utcnow
from storage.repo.cases import CaseView, ParticipantView, view_case, view_participant
from storage.repo.errors import NotFound
from storage.vault import Vault

SPARK_POINTS = 12
RATING_ROWS = 60  # the answers table shows the newest surveys; exports hold everything
SESSION_DELAY = cast(timedelta, PlanConfig.__dataclass_fields__["session_delay"].default)
HELD_DAYS = 8  # held sessions stay on the case page this long; exports keep them all


def seen_case(session: Session, user: User, case_id: str, *,
              now: datetime | None = None) -> tuple[Case, Access]:
    """The case and how much of it `user` may see (casework.access, the one rule); NotFound
    when nothing, so another's case looks absent."""
    case = session.get(Case, case_id) if len(case_id) <= 32 else None
    access = case_access(session, user, case, now=now or utcnow()) if case else None
    if case is None or access is None or case.status == "erased":
        raise NotFound("case")
    return case, access


def visible_case(session: Session, user: User, case_id: str, *, now: datetime | None = None,
                 part: str = "case") -> Case:
    """The case when `user` may see `part` of it; NotFound otherwise. `part` is "case" (all
    of it, and acting on it) or "ratings" (its ratings, words and sessions: what a provider
    user sees of their organisation's cases)."""
    case, access = seen_case(session, user, case_id, now=now)
    if part != "ratings" and not access.full:
        raise NotFound("case")
    return case


def audit_view(session: Session, user: User, case: Case, access: Access, *, now: datetime,
               via: str | None = None) -> None:
    """A view of a case written to the audit log: who, when, through what, and for whom
    when they stand in for its absent caseworker."""
    parts = [f"via={via}"] if via else []
    if access.deputy_for:
        parts.append(f"as deputy for {access.deputy_for}")
    audit.append(session, actor=user.email, action="case.view", target=f"case:{case.id}",
                 detail=" ".join(parts), at=now)


def viewed_case(session: Session, user: User, case_id: str, *, now: datetime, via: str,
                part: str = "case") -> Case:
    """`visible_case`, with the reading written to the audit log (who, when, through what):
    every API route that shows a case's people, answers or words goes through here."""
    case, access = seen_case(session, user, case_id, now=now)
    if part != "ratings" and not access.full:
        raise NotFound("case")
    audit_view(session, user, case, access, now=now, via=via)
    return case


def viewed_list(session: Session, user: User, case_ids: list[str], *, now: datetime,
                via: str) -> None:
    """A list that shows cases' names written to the audit log: one entry per view, naming
    every case on it."""
    audit.append(session, actor=user.email, action="case.list", target=f"cases:{len(case_ids)}",
                 detail=f"via={via} cases={','.join(case_ids)}", at=now)


def visible_participant(session: Session, case: Case, participant_id: str) -> Participant:
    """A participant of this case; NotFound when it belongs elsewhere or was erased."""
    person = session.get(Participant, participant_id) if len(participant_id) <= 32 else None
    if person is None or person.case_id != case.id or person.status == "erased":
        raise NotFound("participant")
    return person


def child_totals(ratings: list[Rating]) -> list[float]:
    """The child's outcome totals, oldest first (the line of the sparkline)."""
    for rs in series(ratings, "outcome").values():
        if rs and rs[0].rater_role == CHILD:
            return [float(r.total) for r in rs if r.total is not None]
    return []


def next_prompt(session: Session, case_id: str, now: datetime) -> datetime | None:
    """When Stemme next asks someone in the case: a pending prompt, else after the next session."""
    due = session.exec(select(DuePrompt.due_at).where(
        DuePrompt.case_id == case_id, DuePrompt.status == "pending")
        .order_by(col(DuePrompt.due_at))).first()
    meeting = session.exec(select(Meeting).where(
        Meeting.case_id == case_id, col(Meeting.cancelled_at).is_(None),
        col(Meeting.starts_at) >= now).order_by(col(Meeting.starts_at))).first()
    # The planner asks a while after a session ends (scheduler.planner.PlanConfig).
    after = meeting.starts_at + timedelta(minutes=meeting.minutes) + SESSION_DELAY \
        if meeting else None
    return min((d for d in (due, after) if d is not None), default=None)


@dataclass(frozen=True, slots=True)
class CaseRow:
    """One line of "my cases"."""

    id: str
    ref: str
    child_name: str
    caseworker: str
    urgency: int
    urgency_label: str
    why: str
    spark: str | None
    last_rating: datetime | None
    next_prompt: datetime | None
    # No session held in the last weeks and none planned: nobody rates sessions then, and a
    # case whose sessions were never entered would ask the child nothing without anyone knowing.
    no_sessions: bool = False


# How far back and ahead a session must be for a case not to be flagged on the list.
SESSION_GAP = timedelta(weeks=6)


def _without_sessions(session: Session, case_id: str, now: datetime) -> bool:
    """True when the case has no session from SESSION_GAP ago on (held or planned)."""
    found = session.exec(select(Meeting.id).where(
        Meeting.case_id == case_id, col(Meeting.cancelled_at).is_(None),
        col(Meeting.starts_at) >= now - SESSION_GAP).limit(1)).first()
    return found is None


def _status(case: CaseData, now: datetime, rules: ScoringRules
            ) -> tuple[list[Rating], CaseStatus]:
    ratings = case_ratings(case, rules)
    return ratings, case_status(case, now=now, rules=rules, ratings=ratings)


WAITING = 6  # "no ratings yet": shown after the on-track cases, in a neutral colour


def shown_urgency(status: CaseStatus, lang: str) -> tuple[int, str]:
    """The urgency to show: "on track" needs the child's ratings, else "waiting for answers"."""
    if status.urgency == Urgency.ON_TRACK and status.child_latest is None:
        return WAITING, t("status.waiting", lang)
    return int(status.urgency), urgency_name(status.urgency, texts(lang))


def case_rows(session: Session, vault: Vault, user: User, *, now: datetime,
              lang: str, rules: ScoringRules = DEFAULT_RULES) -> list[CaseRow]:
    """The open cases the user may see (casework.access: their own, their team's, those
    they stand in for, their organisation's, or all for an admin), most urgent first."""
    tx = texts(lang)
    query = select(Case).where(Case.status == "open", visible_cases(session, user, now=now))
    emails = dict(session.exec(select(User.id, User.email)).all())
    rows = []
    for case in session.exec(query.order_by(col(Case.ref))).all():
        data = load_case_data(session, vault, case.id, now=now, comments=False)
        ratings, status = _status(data, now, rules)
        totals = child_totals(ratings)[-SPARK_POINTS:]
        spark = None
        if totals:
            cutoff = band_on(data.child_birth_date, now, rules).cutoff
            spark = sparkline_svg(totals, cutoff=cutoff,
                                  title=tx("Trend of the child’s ratings"))
        last = max((a.answered_at for a in data.answers), default=None)
        urgency, label = shown_urgency(status, lang)
        if user.role == "provider":
            # The urgency can name a safety alert, which a provider may not see: none shown.
            urgency, label = WAITING, ""
        rows.append(CaseRow(
            id=case.id, ref=case.ref,
            child_name=vault.open(session, case, "child_name") or "",
            caseworker=emails.get(case.caseworker_id, ""), urgency=urgency, urgency_label=label,
            # A provider user sees ratings, not the alerts and reasons the line names.
            why="" if user.role == "provider"
            else status_line(status, rater_labels(data.raters, tx), tx), spark=spark,
            last_rating=last, next_prompt=next_prompt(session, case.id, now),
            no_sessions=_without_sessions(session, case.id, now)))
    rows.sort(key=lambda r: (r.urgency, r.ref))
    return rows


@dataclass(frozen=True, slots=True)
class RaterRow:
    """A participant with their agreement state, as the case page lists them."""

    person: ParticipantView
    label: str
    agreement: AgreementState
    age: int | None
    needs_guardian: bool  # a child under 15 without a custody holder's recorded yes
    may_guardian: bool  # a child under 15: the caseworker may record a custody holder's yes
    may_ask: bool


@dataclass(frozen=True, slots=True)
class ReasonRow:
    """An alert behind the case's urgency, with its reason in the reader's language."""

    rule: str
    severity: str
    raised_at: datetime
    line: str


@dataclass(frozen=True, slots=True)
class RatingRow:
    """One survey in the answers table."""

    answered_at: datetime
    rater: str
    kind: str
    total: float | None
    partial: bool
    items: list[tuple[str, float | None]]


@dataclass(frozen=True, slots=True)
class MessageRow:
    """What a participant wrote, as the case page shows it: who, when, and any safety flag."""

    written_at: datetime
    who: str  # the rater's label by role ("Barn", "Forælder 1")
    text: str
    kind: str  # comment | message
    flag: str | None  # the category's name in the reader's language


def message_rows(data: CaseData, labels: dict[str, str], lang: str) -> list[MessageRow]:
    """Everything written in the case, newest first."""
    return [MessageRow(c.written_at, labels.get(c.participant_id, role_name(c.rater_role, lang)),
                       c.text, c.kind, category_label(c.flag, lang) if c.flag else None)
            for c in sorted(data.comments, key=lambda c: c.written_at, reverse=True)]


@dataclass(frozen=True, slots=True)
class SessionRow:
    """A session after which ratings are asked."""

    id: str
    starts_at: datetime
    minutes: int
    series: bool
    cancelled: bool


@dataclass(frozen=True, slots=True)
class Overview:
    """Everything the case page and the API's case detail show."""

    view: CaseView
    caseworker: str
    age: int | None
    urgency: int
    urgency_label: str
    why: str
    reasons: list[ReasonRow]
    raters: list[RaterRow]
    ratings: list[RatingRow]
    comments: list[MessageRow]
    goals: list[tuple[str, str]]
    sessions: list[SessionRow]
    next_prompt: datetime | None
    answers: int
    data: CaseData


def _rater_rows(session: Session, vault: Vault, case_id: str, labels: dict[str, str],
                today: date) -> list[RaterRow]:
    rows = []
    people = session.exec(select(Participant).where(
        Participant.case_id == case_id, Participant.status != "erased")
        .order_by(col(Participant.created_at))).all()
    for person in people:
        view = view_participant(session, vault, person)
        agreed = state(session, person.id, person.channel)
        age = age_on(view.birth_date, today) if person.role == CHILD and view.birth_date \
            else None
        young = age is not None and age < SELF_CONSENT_AGE
        rows.append(RaterRow(
            person=view, label=labels.get(person.id, person.role), agreement=agreed, age=age,
            needs_guardian=young and not agreed.guardian_agreed,
            may_guardian=young and not agreed.guardian_agreed and person.status == "active",
            may_ask=person.status == "active"))
    return rows


def _rating_rows(ratings: list[Rating], labels: dict[str, str],
                 goal_numbers: dict[str, int]) -> list[RatingRow]:
    rows = []
    for r in sorted(ratings, key=lambda r: r.answered_at, reverse=True)[:RATING_ROWS]:
        items = [(f"goal:{goal_numbers.get(k, 0)}" if r.kind == "goal" else k, v)
                 for k, v in r.items.items()]
        rows.append(RatingRow(r.answered_at, labels.get(r.participant_id, r.rater_role),
                              r.kind, r.total, r.partial, items))
    return rows


def overview(session: Session, vault: Vault, case: Case, *, now: datetime,
             lang: str, rules: ScoringRules = DEFAULT_RULES) -> Overview:
    """One case as its page shows it."""
    tx = texts(lang)
    data = load_case_data(session, vault, case.id, now=now)
    view = view_case(session, vault, case)
    ratings, status = _status(data, now, rules)
    labels = rater_labels(data.raters, tx)
    reasons = [ReasonRow(a.rule, a.severity, a.raised_at, alert_line(a, labels, tx))
               for a in status.reasons]
    goal_numbers = {g.goal_id: g.position for g in data.goals}
    meetings = session.exec(select(Meeting).where(
        Meeting.case_id == case.id, col(Meeting.starts_at) >= now - timedelta(days=HELD_DAYS))
        .order_by(col(Meeting.starts_at))).all()
    worker = session.get(User, case.caseworker_id)
    urgency, label = shown_urgency(status, lang)
    today = now.astimezone(rules.tz).date()
    return Overview(
        view=view, caseworker=worker.email if worker else "",
        age=age_on(view.child_birth_date, today) if view.child_birth_date else None,
        urgency=urgency, urgency_label=label, why=status_line(status, labels, tx),
        reasons=reasons,
        raters=_rater_rows(session, vault, case.id, labels, today),
        ratings=_rating_rows(ratings, labels, goal_numbers),
        comments=message_rows(data, labels, lang),
        goals=[(g.goal_id, g.text or "") for g in data.goals],
        sessions=[SessionRow(m.id, m.starts_at, m.minutes, m.series_id is not None,
                             m.cancelled_at is not None) for m in meetings],
        next_prompt=next_prompt(session, case.id, now), answers=len(data.answers), data=data)


def role_name(role: str, lang: str) -> str:
    """A participant role in the reader's language."""
    return texts(lang)(ROLE_NAMES.get(role, ROLE_NAMES["other"]))
