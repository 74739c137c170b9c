"""`stemme demo`: seed an empty database with a caseworker, two cases and ten weeks of ratings.

Everything is invented: the names, the numbers and the comments. Every participant is on the
web chat, so the demo needs no Telegram or Twilio account and never texts a real phone.
"""

from __future__ import annotations

import argparse
import ipaddress
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlmodel import Session, func, select

from bot.cli.output import CommandError, Output
from bot.runtime.parts import Runtime
from casework.invites import new_invite
from consent import agreements, audit
from storage import migrate
from storage.db import session_scope
from storage.models import Case, Conversation, DuePrompt, Meeting, Participant, User, new_id
from storage.passwords import verify_password
from storage.repo import cases
from storage.repo.answers import ItemScore, record_answer, record_free_text
from storage.repo.users import create_user, user_by_email

CASEWORKER = "demo@stemme.example"
ADMIN = "admin@stemme.example"
PASSWORD = "stemme-demo-2026"  # a demo on 127.0.0.1: fixed and printed on purpose
WEEKS = 10
OUTCOME = ("me", "family", "school", "overall")
SESSION = ("heard", "topics", "approach", "overall")
JITTER = (1, -1, 0, 0)  # spreads a total over four whole-number items without changing it


@dataclass
class Rater:
    """One invented participant and their weekly totals (None: no answer that week)."""

    role: str
    name: str
    outcome: list[float | None]
    session: list[float | None] = field(default_factory=list)
    goals: list[float | None] = field(default_factory=list)
    comments: dict[int, str] = field(default_factory=dict)


@dataclass
class Story:
    """One invented case."""

    ref: str
    child: str
    age_years: int
    band: str  # "child" (6-12) or "youth" (13-17): which instruments the child answers
    goals: list[str]
    raters: list[Rater]


STORIES = (
    Story("DEMO-1", "Sofie", 12, "child", ["Gå i skole hver dag", "Sove bedre om natten"], [
        Rater("child", "Sofie", [15, 17, 16, 20, 22, 23, 26, 27, 30, 31],
              [33, 35, 36, 37, 37, 38, 39, 38, 39, 39], [3, 3, 4, 5, 5, 6, 7, 7, 8, 8],
              {2: "Det var rart at blive hørt.", 6: "Jeg er begyndt at gå til fodbold igen.",
               9: "Det går meget bedre derhjemme nu."}),
        Rater("parent", "Mette (mor)", [18, 18, 20, 21, 23, 24, 26, 27, 28, 30],
              [35, 36, 37, 37, 38, 38, 38, 39, 39, 39]),
        Rater("teacher", "Lærer Jens", [17, None, None, 21, None, None, 25, None, None, 28]),
    ]),
    Story("DEMO-2", "Malik", 14, "youth", ["Have en ven i klassen"], [
        Rater("child", "Malik", [18, 17, 19, 16, 17, 15, 16, 14, 13, 12],
              [37, 36, 35, 35, 33, 34, 32, 31, 32, 30], [4, 4, 3, 4, 3, 3, 2, 3, 2, 2],
              {1: "Ved ikke.", 5: "Det er svært i skolen.",
               8: "Jeg gider ikke snakke om det hele tiden."}),
        Rater("parent", "Ali (far)", [24, 25, 24, 26, 25, 27, 26, 27, None, None],
              [36, 36, 37, 36, 37, 36, 37, 36, None, None]),
        Rater("teacher", "Pædagog Lise", [20, None, None, 18, None, None, 16, None, None, 15]),
    ]),
)


def _items(total: float, names: tuple[str, ...]) -> list[tuple[str, float]]:
    """Four whole-number item scores (0-10) that add up to `total`, as people answer."""
    base, extra = divmod(round(total), 4)
    scores = [base + (1 if i < extra else 0) for i in range(4)]
    if all(1 <= s <= 9 for s in scores):
        scores = [s + j for s, j in zip(scores, JITTER, strict=True)]
    return [(n, float(s)) for n, s in zip(names, scores, strict=True)]


def _instruments(role: str, band: str) -> tuple[str, str]:
    if role == "child":
        return f"outcome-{band}", f"session-{band}"
    if role in ("teacher", "pedagogue"):
        return "outcome-observer", "session-adult"
    return "outcome-adult", "session-adult"


def _survey(session: Session, rt: Runtime, person: Participant, meeting: Meeting | None,
            at: datetime, parts: list[tuple[str, list[tuple[str, float]]]],
            comment: str | None) -> None:
    """One answered prompt: the prompt, its conversation, the answers and any comment."""
    prompt = DuePrompt(case_id=person.case_id, participant_id=person.id,
                       kind="session" if meeting else "followup",
                       session_id=meeting.id if meeting else None,
                       dedupe_key=f"session:{meeting.id}" if meeting else f"followup:{at.date()}",
                       due_at=at, status="answered", attempts=1, created_at=at)
    conversation = Conversation(case_id=person.case_id, participant_id=person.id,
                                prompt_id=prompt.id, status="completed", started_at=at,
                                updated_at=at + timedelta(minutes=4))
    prompt.conversation_id = conversation.id
    session.add(prompt)
    session.add(conversation)
    session.flush()
    minute = 0
    for instrument, items in parts:
        for item, score in items:
            minute += 1
            record_answer(session, rt.vault, person, ItemScore(instrument, "1", item, score),
                          answered_at=at + timedelta(seconds=20 * minute),
                          conversation_id=conversation.id)
    if comment:
        record_free_text(session, rt.vault, person, comment, conversation_id=conversation.id,
                         at=at + timedelta(minutes=4))


def _missed(session: Session, person: Participant, meeting: Meeting, at: datetime) -> None:
    session.add(DuePrompt(case_id=person.case_id, participant_id=person.id, kind="session",
                          session_id=meeting.id, dedupe_key=f"session:{meeting.id}", due_at=at,
                          status="expired", attempts=1, created_at=at))


def _seed_case(session: Session, rt: Runtime, worker: User, story: Story, now: datetime
               ) -> dict[str, Any]:
    zone = rt.settings.zone
    today = now.astimezone(zone).date()
    # The tenth weekly session was three days ago; the case opened a few days before the first.
    first_day = today - timedelta(days=3 + 7 * (WEEKS - 1))
    opened = datetime.combine(first_day - timedelta(days=4), time(9, 0), tzinfo=zone)
    born = today - timedelta(days=round(365.25 * story.age_years) + 120)
    case = cases.create_case(session, rt.vault, ref=story.ref, child_name=story.child,
                             birth_date=born, caseworker_id=worker.id, cadence="haderslev")
    case.opened_at = case.created_at = opened.astimezone(UTC)
    case.followups_planned_through = today  # the past is recorded below, not planned again
    goals = cases.set_goals(session, rt.vault, case, story.goals)
    meetings = []
    for week in range(WEEKS):
        start = datetime.combine(first_day + timedelta(weeks=week), time(15, 0), tzinfo=zone)
        meetings.append(Meeting(case_id=case.id, starts_at=start.astimezone(UTC), minutes=45,
                                planned_at=start.astimezone(UTC)))
    session.add_all(meetings)
    upcoming = datetime.combine(today + timedelta(days=4), time(15, 0), tzinfo=zone)
    series = new_id()
    session.add_all([Meeting(case_id=case.id, starts_at=(upcoming + timedelta(weeks=w))
                             .astimezone(UTC), minutes=45, series_id=series) for w in range(4)])
    links: list[dict[str, str]] = []
    for rater in story.raters:
        person = cases.add_participant(session, rt.vault, rt.index, case=case, role=rater.role,
                                       channel="webchat", name=rater.name)
        person.created_at = case.opened_at
        if rater.role == "child":
            agreements.record(session, person, action="given", given_by="guardian",
                              recorded_by=worker.email, at=case.opened_at,
                              age_at_time=story.age_years)
        agreements.record(session, person, action="given", given_by="self",
                          recorded_by="participant", at=case.opened_at + timedelta(hours=1),
                          age_at_time=story.age_years if rater.role == "child" else None)
        outcome, session_scale = _instruments(rater.role, story.band)
        for week, meeting in enumerate(meetings):
            at = meeting.starts_at + timedelta(minutes=60 + 7 * len(links))
            total = rater.outcome[week]
            if total is None:
                if rater.role != "teacher":
                    _missed(session, person, meeting, at)
                continue
            parts = [(outcome, _items(total, OUTCOME))]
            if rater.session:
                parts.append((session_scale, _items(float(rater.session[week] or 0), SESSION)))
            if rater.goals:
                parts.append(("goal", [(g.id, float(rater.goals[week] or 0)) for g in goals]))
            _survey(session, rt, person, None if rater.role == "teacher" else meeting,
                    at if rater.role != "teacher" else at - timedelta(days=3),
                    parts, rater.comments.get(week))
        # The same invite (and lifetime, and link) a caseworker gives; audited as the demo's.
        invite = new_invite(session, person, actor="demo", public_url=rt.settings.public_url,
                            bot_username=None, now=now)
        links.append({"participant_id": person.id, "role": rater.role, "name": rater.name,
                      "webchat_url": invite.url or ""})
    audit.append(session, actor="demo", action="case.create", target=f"case:{case.id}",
                 detail="demo", at=now)
    return {"case_id": case.id, "ref": case.ref, "participants": links}


def is_empty(session: Session) -> bool:
    """True when there are no users and no cases yet."""
    users = session.exec(select(func.count()).select_from(User)).one()
    found = session.exec(select(func.count()).select_from(Case)).one()
    return not users and not found


def seed(session: Session, rt: Runtime, now: datetime) -> list[dict[str, Any]]:
    """Write the demo's users and cases; returns the cases with their web-chat links."""
    worker = create_user(session, email=CASEWORKER, role="caseworker", password=PASSWORD)
    create_user(session, email=ADMIN, role="admin", password=PASSWORD)
    seeded = [_seed_case(session, rt, worker, story, now) for story in STORIES]
    audit.append(session, actor="demo", action="demo.seed", detail=f"{len(seeded)} cases",
                 at=now)
    return seeded


def loopback(host: str | None) -> bool:
    """True for a name or address only this machine reaches (localhost, 127.0.0.0/8, ::1)."""
    name = (host or "").strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False  # "0.0.0.0", "", a host name: others may reach it


def local_only(rt: Runtime, host: str) -> str | None:
    """Why the demo may not run here (a host or public URL others reach), or None."""
    if not loopback(host):
        return (f"the demo (with its published password) only runs on a loopback address; "
                f"the host is {host or '(all addresses)'}: set STEMME_HOST=127.0.0.1")
    if not loopback(urlsplit(f"{rt.settings.public_url}/").hostname):
        return (f"STEMME_PUBLIC_URL is {rt.settings.public_url}: the demo (with its "
                "published password) is only seeded on a local instance")
    return None


def published_logins(session: Session) -> list[str]:
    """The demo logins that still open with the published password (for `stemme serve`)."""
    found = []
    for email in (CASEWORKER, ADMIN):
        user = user_by_email(session, email)
        if user is not None and user.active and verify_password(user.password_hash, PASSWORD):
            found.append(email)
    return found


def cmd_demo(rt: Runtime, args: argparse.Namespace, out: Output) -> None:
    """Seed the demo (with --if-empty: only into an empty database, else do nothing)."""
    if migrate.current_revision(rt.engine) != migrate.head_revision():
        raise CommandError("the database schema is not up to date; run: stemme migrate")
    url = f"{rt.settings.public_url}/"
    # The demo logins have a published password: never on an instance others can reach,
    # whether by the address it listens on or the one it says it has.
    message = local_only(rt, rt.settings.host)
    if message is not None:
        if args.if_empty:
            out.result({"ok": True, "seeded": False, "dashboard_url": url}, message)
            return
        raise CommandError(message)
    with session_scope(rt.engine) as session:
        if not is_empty(session):
            if args.if_empty:
                out.result({"ok": True, "seeded": False, "dashboard_url": url},
                           f"the database already has data; no demo seeded. Dashboard: {url}")
                return
            raise CommandError("the database is not empty; the demo is only seeded into an "
                               "empty one (use --if-empty to skip quietly)")
        seeded = seed(session, rt, datetime.now(UTC))
    lines = ["Stemme demo seeded (invented people, ten weeks of ratings).",
             f"  dashboard:  {url}",
             f"  sign in:    {CASEWORKER}  password: {PASSWORD}   (caseworker)",
             f"              {ADMIN}  password: {PASSWORD}   (admin: sees all, manages users)",
             "  web chat (answer as a participant; keep these links, they are shown once):"]
    for case in seeded:
        for person in case["participants"]:
            lines.append(f"    {case['ref']} {person['role']:<8} {person['name']:<14} "
                         f"{person['webchat_url']}")
    out.result({"ok": True, "seeded": True, "dashboard_url": url,
                "login": {"email": CASEWORKER, "password": PASSWORD, "role": "caseworker"},
                "admin_login": {"email": ADMIN, "password": PASSWORD, "role": "admin"},
                "cases": seeded}, "\n".join(lines))
