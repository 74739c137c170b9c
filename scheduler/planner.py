"""Turns sessions and follow-up cadences into due-prompt rows, a little ahead of time."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete
from sqlmodel import Session, col, or_, select

from scheduler.cadence import Cadence, followup_dates, load_cadences, parse_override, survey_date
from scheduler.prompts import add_prompt
from storage.models import Case, DuePrompt, Meeting, Participant


@dataclass(frozen=True)
class PlanConfig:
    """How far ahead to plan, and when after a session or before a follow-up to ask."""

    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/Copenhagen"))
    session_delay: timedelta = timedelta(minutes=15)
    horizon: timedelta = timedelta(days=1)
    lead_days: int = 3
    followup_time: time = time(15, 0)  # local: after school and work for most raters
    cadences: dict[str, Cadence] = field(default_factory=load_cadences)


def _raters(session: Session, case_id: str, *, in_sessions: bool) -> list[Participant]:
    return list(session.exec(select(Participant).where(
        Participant.case_id == case_id, Participant.status == "active",
        Participant.rates_sessions == in_sessions)).all())


def plan_sessions(session: Session, now: datetime, cfg: PlanConfig) -> int:
    """Prompts for everyone who rates sessions, `session_delay` after each session ends."""
    meetings = session.exec(select(Meeting).where(
        col(Meeting.planned_at).is_(None), col(Meeting.cancelled_at).is_(None),
        col(Meeting.starts_at) <= now + cfg.horizon)).all()
    created = 0
    for meeting in meetings:
        case = session.get(Case, meeting.case_id)
        if case is not None and case.status == "open":
            due = meeting.starts_at + timedelta(minutes=meeting.minutes) + cfg.session_delay
            for person in _raters(session, meeting.case_id, in_sessions=True):
                created += add_prompt(session, participant=person, kind="session",
                                      dedupe_key=f"session:{meeting.id}", due_at=due,
                                      session_id=meeting.id)
        meeting.planned_at = now
        session.add(meeting)
    return created


def plan_person(session: Session, person: Participant, now: datetime,
                cfg: PlanConfig | None = None) -> int:
    """The questions still ahead for someone who joins after they were planned: added to the
    case, resumed after a STOP, reachable again, or moved to the other rating mode.

    A session rater gets the sessions already planned whose question is still to come; either
    kind joins the prompts already planned for the case's other raters of that kind. A prompt
    of their own that was cancelled (at a STOP, say) is on again. Returns how many.
    """
    case = session.get(Case, person.case_id)
    if person.status != "active" or case is None or case.status != "open":
        return 0
    delay = (cfg or PlanConfig()).session_delay
    kind = "session" if person.rates_sessions else "followup"
    wanted: dict[str, tuple[datetime, str | None]] = {}
    if person.rates_sessions:
        for meeting in session.exec(select(Meeting).where(
                Meeting.case_id == case.id, col(Meeting.planned_at).is_not(None),
                col(Meeting.cancelled_at).is_(None))):
            due = _aware(meeting.starts_at) + timedelta(minutes=meeting.minutes) + delay
            if due > now:
                wanted[f"session:{meeting.id}"] = (due, meeting.id)
    for prompt in session.exec(select(DuePrompt).where(
            DuePrompt.case_id == case.id, DuePrompt.kind == kind,
            DuePrompt.status == "pending", col(DuePrompt.due_at) > now,
            DuePrompt.participant_id != person.id)):
        wanted.setdefault(prompt.dedupe_key, (prompt.due_at, prompt.session_id))
    joined = 0
    for key, (due, session_id) in wanted.items():
        if add_prompt(session, participant=person, kind=kind, dedupe_key=key, due_at=due,
                      session_id=session_id):
            joined += 1
            continue
        mine = session.exec(select(DuePrompt).where(DuePrompt.participant_id == person.id,
                                                    DuePrompt.dedupe_key == key)).one()
        if mine.status == "cancelled":
            mine.status, mine.due_at = "pending", due
            session.add(mine)
            joined += 1
    return joined


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def case_cadence(case: Case, cfg: PlanConfig) -> Cadence:
    """The case's override when it has one, else its named cadence."""
    if case.cadence_override:
        return parse_override(case.cadence_override)
    return cfg.cadences.get(case.cadence) or cfg.cadences["law-minimum"]


def plan_followups(session: Session, now: datetime, cfg: PlanConfig) -> int:
    """Prompts for parallel raters a few days before each follow-up date of each open case."""
    today = now.astimezone(cfg.zone).date()
    through = (now + cfg.horizon).astimezone(cfg.zone).date()
    cases = session.exec(select(Case).where(
        Case.status == "open",
        or_(col(Case.followups_planned_through).is_(None),
            col(Case.followups_planned_through) < through))).all()
    created = 0
    for case in cases:
        # A case seen for the first time starts today: past dates are not asked for afterwards.
        start = case.followups_planned_through or today - timedelta(days=1)
        opened = case.opened_at.astimezone(cfg.zone).date()
        end = through + timedelta(days=cfg.lead_days)
        raters = None
        for followup in followup_dates(case_cadence(case, cfg), opened, end):
            ask_on = survey_date(followup, cfg.lead_days)
            if not start < ask_on <= through:
                continue
            raters = raters if raters is not None else _raters(session, case.id,
                                                               in_sessions=False)
            due = _local(ask_on, cfg.followup_time, cfg.zone)
            for person in raters:
                created += add_prompt(session, participant=person, kind="followup",
                                      dedupe_key=f"followup:{followup.isoformat()}",
                                      due_at=due)
        case.followups_planned_through = through
        session.add(case)
    return created


def pause_planning(session: Session, case: Case, now: datetime) -> int:
    """A case closes: the prompts planned for later than `now` go (they were never due), so
    that planning after a reopen makes them afresh; how many. What was due by now stays, for
    the caller to cancel with the rest of what is running."""
    result = session.execute(delete(DuePrompt).where(
        col(DuePrompt.case_id) == case.id, col(DuePrompt.status) == "pending",
        col(DuePrompt.due_at) > now))
    return int(result.rowcount)  # type: ignore[attr-defined]


def resume_planning(session: Session, case: Case, now: datetime, cfg: PlanConfig) -> None:
    """A case reopens: it is planned from `now` on, and nothing that fell due while it was
    closed is asked for afterwards.

    Sessions whose prompt was due by now count as planned (without prompts); later ones are
    planned again by the next sweep (a sweep while the case was closed marked them planned
    without prompts). Follow-ups go on from the last day whose asking time has passed.
    """
    meetings = session.exec(select(Meeting).where(
        Meeting.case_id == case.id, col(Meeting.cancelled_at).is_(None))).all()
    for meeting in meetings:
        due = meeting.starts_at + timedelta(minutes=meeting.minutes) + cfg.session_delay
        planned = (meeting.planned_at or now) if due <= now else None
        if planned != meeting.planned_at:
            meeting.planned_at = planned
            session.add(meeting)
    today = now.astimezone(cfg.zone).date()
    passed = _local(today, cfg.followup_time, cfg.zone) <= now
    case.followups_planned_through = today if passed else today - timedelta(days=1)
    session.add(case)


def _local(day: date, at: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)
