"""Cases, participants and goals, with names, numbers and birth dates sealed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import bindparam
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from storage.blind_index import BlindIndex, normalise_phone
from storage.models import Case, Goal, Participant, table_of
from storage.repo.errors import Conflict, NotFound
from storage.vault import Vault

PARTICIPANT_ROLES = ("child", "parent", "foster_parent", "teacher", "pedagogue", "other")
CHANNELS = ("telegram", "sms", "webchat")
LANGUAGES = ("da", "en")
MAX_GOALS = 3


@dataclass(frozen=True, slots=True)
class CaseView:
    """A case with its sealed fields opened."""

    id: str
    ref: str
    caseworker_id: str
    child_name: str | None
    child_birth_date: date | None
    cadence: str
    cadence_override: str | None
    status: str


@dataclass(frozen=True, slots=True)
class ParticipantView:
    """A participant with its sealed fields opened."""

    id: str
    case_id: str
    role: str
    channel: str
    language: str
    name: str | None
    phone: str | None
    chat_id: str | None
    birth_date: date | None
    status: str
    contact_window: str | None = None  # "mon-fri 08:00-16:00"; None: quiet hours only
    rates_sessions: bool = True  # rates sessions, or (False) the case's follow-up cadence


def create_case(
    session: Session,
    vault: Vault,
    *,
    ref: str,
    child_name: str,
    birth_date: date,
    caseworker_id: str,
    cadence: str = "law-minimum",
) -> Case:
    """A new open case; the child's name and birth date are sealed with the case's own key."""
    if not ref.strip():
        raise ValueError("the case reference must not be empty")
    case = Case(ref=ref.strip(), caseworker_id=caseworker_id, cadence=cadence)
    vault.seal(session, case, "child_name", child_name.strip())
    vault.seal(session, case, "child_birth_date", birth_date.isoformat())
    session.add(case)
    session.flush()
    return case


def get_case(session: Session, case_id: str) -> Case:
    """The case, or NotFound."""
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound(f"no case {case_id}")
    return case


def set_provider(session: Session, case: Case, provider_id: str | None) -> None:
    """The case's provider organisation (at most one), or none."""
    case.provider_id = provider_id
    session.add(case)
    session.flush()


def view_case(session: Session, vault: Vault, case: Case) -> CaseView:
    """The case with its fields opened."""
    return _view(session, vault, case.id, case.ref, case.caseworker_id, case.child_name,
                 case.child_birth_date, case.cadence, case.cadence_override, case.status)


_CASES = table_of(Case)
_CASES_BY_ID = (sa_select(_CASES.c.id, _CASES.c.ref, _CASES.c.caseworker_id,
                          _CASES.c.child_name, _CASES.c.child_birth_date, _CASES.c.cadence,
                          _CASES.c.cadence_override, _CASES.c.status)
                .where(_CASES.c.id.in_(bindparam("ids", expanding=True))))


def view_open_cases(session: Session, vault: Vault, case_ids: list[str]) -> dict[str, CaseView]:
    """The open ones of these cases, opened, by id: one plain query for a sweep batch.

    A plain query does not flush the session, so it does so first: a case closed earlier in
    this transaction is closed here too.
    """
    session.flush()
    rows = session.connection().execute(_CASES_BY_ID, {"ids": case_ids}).all()
    # Status is checked here, not in SQL: given both, SQLite walks the status index (every
    # open case) instead of looking the ids up.
    return {row[0]: _view(session, vault, *row) for row in rows if row[-1] == "open"}


def _view(session: Session, vault: Vault, case_id: str, ref: str, caseworker_id: str,
          child_name: bytes | None, child_birth_date: bytes | None, cadence: str,
          cadence_override: str | None, status: str) -> CaseView:
    def opened(column: str, blob: bytes | None) -> str | None:
        return None if blob is None else vault.open_value(
            session, table=_CASES.name, column=column, row_id=case_id, blob=blob)

    born = opened("child_birth_date", child_birth_date)
    return CaseView(id=case_id, ref=ref, caseworker_id=caseworker_id,
                    child_name=opened("child_name", child_name),
                    child_birth_date=date.fromisoformat(born) if born else None,
                    cadence=cadence, cadence_override=cadence_override, status=status)


def add_participant(
    session: Session,
    vault: Vault,
    index: BlindIndex,
    *,
    case: Case,
    role: str,
    channel: str,
    language: str = "da",
    name: str | None = None,
    phone: str | None = None,
    birth_date: date | None = None,
    rates_sessions: bool | None = None,
    contact_window: str | None = None,
) -> Participant:
    """A new participant; the phone is normalised, sealed and indexed blind."""
    if role not in PARTICIPANT_ROLES:
        raise ValueError(f"role must be one of {', '.join(PARTICIPANT_ROLES)}, got {role!r}")
    if channel not in CHANNELS:
        raise ValueError(f"channel must be one of {', '.join(CHANNELS)}, got {channel!r}")
    if language not in LANGUAGES:
        raise ValueError(f"language must be da or en, got {language!r}")
    if channel == "sms" and not phone:
        raise ValueError("an SMS participant needs --phone, e.g. --phone '+45 12 34 56 78'")
    if case.status != "open":
        raise Conflict(f"case {case.id} is {case.status}; participants can only join open cases")
    if rates_sessions is None:
        # The child and parents take part in sessions; teachers and pedagogues rate in parallel,
        # on the case's follow-up cadence.
        rates_sessions = role in ("child", "parent", "foster_parent")
    person = Participant(case_id=case.id, role=role, channel=channel, language=language,
                         rates_sessions=rates_sessions, contact_window=contact_window)
    if role == "child" and birth_date is None:
        born = vault.open(session, case, "child_birth_date")
        birth_date = date.fromisoformat(born) if born else None
    if role == "child" and name is None:
        name = vault.open(session, case, "child_name")
    if phone:
        person.phone_index = index.phone(phone)  # validates and normalises first
        vault.seal(session, person, "phone", normalise_phone(phone))
    vault.seal(session, person, "name", name)
    vault.seal(session, person, "birth_date", birth_date.isoformat() if birth_date else None)
    session.add(person)
    session.flush()
    return person


def link_chat(
    session: Session, vault: Vault, index: BlindIndex, person: Participant, chat_id: int | str
) -> None:
    """Remember a participant's Telegram chat, sealed and indexed blind."""
    person.chat_index = index.chat(chat_id)
    vault.seal(session, person, "chat_id", str(int(chat_id)))
    session.add(person)
    session.flush()


def view_participant(session: Session, vault: Vault, person: Participant) -> ParticipantView:
    """The participant with its fields opened."""
    born = vault.open(session, person, "birth_date")
    return ParticipantView(
        id=person.id, case_id=person.case_id, role=person.role, channel=person.channel,
        language=person.language, name=vault.open(session, person, "name"),
        phone=vault.open(session, person, "phone"), chat_id=vault.open(session, person, "chat_id"),
        birth_date=date.fromisoformat(born) if born else None, status=person.status,
        contact_window=person.contact_window, rates_sessions=person.rates_sessions,
    )


def get_participant(session: Session, participant_id: str) -> Participant:
    """The participant, or NotFound."""
    person = session.get(Participant, participant_id)
    if person is None:
        raise NotFound(f"no participant {participant_id}")
    return person


# Built once: every inbound message looks its sender up.
_BY_PHONE = (select(Participant).where(Participant.phone_index == bindparam("blind"))
             .order_by(col(Participant.created_at).desc()))
_BY_CHAT = (select(Participant).where(Participant.chat_index == bindparam("blind"))
            .order_by(col(Participant.created_at).desc()))


def participants_by_phone(session: Session, index: BlindIndex, phone: str) -> list[Participant]:
    """Everyone reached on this number (a parent may be in several cases), newest first."""
    return list(session.exec(_BY_PHONE, params={"blind": index.phone(phone)}).all())


def participants_by_chat(
    session: Session, index: BlindIndex, chat_id: int | str
) -> list[Participant]:
    """Everyone linked to this Telegram chat, newest first."""
    return list(session.exec(_BY_CHAT, params={"blind": index.chat(chat_id)}).all())


def set_goals(session: Session, vault: Vault, case: Case, texts: list[str]) -> list[Goal]:
    """Replace the case's goals (up to three, in the child's own words).

    A goal keeps its id, and so its answers and its line on the graph, when its text is
    unchanged (wherever it moves in the list) or reworded in its place; only a goal that is
    gone is retired, and only a new one gets a new id.
    """
    texts = [t.strip() for t in texts if t.strip()]
    if len(texts) > MAX_GOALS:
        raise Conflict(f"a case holds at most {MAX_GOALS} goals; {len(texts)} were given")
    current = list(session.exec(select(Goal).where(Goal.case_id == case.id, col(Goal.active))
                                .order_by(col(Goal.position))).all())
    unused = {goal.id: goal for goal in current}
    kept: dict[int, Goal] = {}
    for position, text in enumerate(texts, start=1):  # the same words: the same goal
        same = next((g for g in unused.values() if vault.open(session, g, "text") == text), None)
        if same is not None:
            kept[position] = unused.pop(same.id)
    for position, text in enumerate(texts, start=1):  # new words in an old goal's place
        if position in kept:
            continue
        reworded = next((g for g in unused.values() if g.position == position), None)
        if reworded is not None:
            kept[position] = unused.pop(reworded.id)
            vault.seal(session, reworded, "text", text)
        else:
            kept[position] = Goal(case_id=case.id, position=position)
            vault.seal(session, kept[position], "text", text)
    for gone in unused.values():
        gone.active = False
        session.add(gone)
    session.flush()  # retire before renumbering: positions of active goals stay distinct
    goals = []
    for position in sorted(kept):
        goal = kept[position]
        goal.position = position
        session.add(goal)
        goals.append(goal)
    session.flush()
    return goals


def goal_texts(session: Session, vault: Vault, case_id: str) -> list[tuple[str, str]]:
    """The active goals as (goal id, text), in order."""
    rows = session.exec(select(Goal).where(Goal.case_id == case_id, col(Goal.active))
                        .order_by(col(Goal.position))).all()
    return [(g.id, vault.open(session, g, "text") or "") for g in rows]
