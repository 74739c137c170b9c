"""Asking now with the bot's survey start at hand: the survey starts in the asking transaction,
keeps quiet hours and the person's window, and is never asked twice while it waits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from casework.asking import Starter, ask_now
from casework.errors import Invalid
from scheduler.sweep import Due
from scheduler.windows import parse_quiet_hours
from storage.models import Conversation, DuePrompt, new_id
from tests.casework.conftest import NOW, WORKER, World

ZONE = ZoneInfo("Europe/Copenhagen")  # NOW is 10:00 there, a Monday


class FakeSurveys:
    """Starts a survey as the bot does, as far as asking can tell: one active conversation."""

    def __init__(self) -> None:
        self.started: list[Due] = []

    def start(self, session: Session, due: Sequence[Due], now: datetime) -> list[str | None]:
        ids: list[str | None] = []
        for item in due:
            self.started.append(item)
            conversation = Conversation(id=new_id(), case_id=item.case_id,
                                        participant_id=item.participant_id,
                                        prompt_id=item.prompt_id, status="active",
                                        version=0, started_at=now, updated_at=now,
                                        expires_at=now + timedelta(hours=72))
            session.add(conversation)
            session.flush()
            ids.append(conversation.id)
        return ids


def starter(surveys: FakeSurveys, quiet: str = "20:00-08:00") -> Starter:
    return Starter(start=surveys.start, zone=ZONE, quiet=parse_quiet_hours(quiet))


def prompts(world: World) -> list[DuePrompt]:
    return list(world.session.exec(select(DuePrompt)).all())


def test_the_survey_starts_in_the_asking_transaction(world: World) -> None:
    child = world.rater(world.case())
    surveys = FakeSurveys()

    asked = ask_now(world.session, child, actor=WORKER, now=NOW, starter=starter(surveys))

    assert asked.started
    [prompt] = prompts(world)
    assert (prompt.kind, prompt.status, prompt.conversation_id) == \
        ("adhoc", "sent", asked.conversation_id)
    [due] = surveys.started
    assert (due.participant_id, due.prompt_id, due.kind) == (child.id, prompt.id, "adhoc")
    assert len(world.audit("survey.send")) == 1


def test_in_quiet_hours_the_prompt_waits_for_the_morning(world: World) -> None:
    child = world.rater(world.case())
    surveys = FakeSurveys()
    evening = NOW.replace(hour=20, minute=30)  # 21:30 in Copenhagen

    asked = ask_now(world.session, child, actor=WORKER, now=evening, starter=starter(surveys))

    assert not asked.started and surveys.started == []
    assert asked.due_at.astimezone(ZONE).time().isoformat() == "08:00:00"
    [prompt] = prompts(world)
    assert prompt.status == "pending"


def test_outside_the_persons_window_the_prompt_waits_for_it(world: World) -> None:
    child = world.rater(world.case())
    child.contact_window = "mon-fri 15:00-17:00"
    surveys = FakeSurveys()

    asked = ask_now(world.session, child, actor=WORKER, now=NOW, starter=starter(surveys))

    assert not asked.started and surveys.started == []
    assert asked.due_at.astimezone(ZONE) == datetime(2026, 3, 2, 15, 0, tzinfo=ZONE)


def test_asking_while_the_survey_waits_for_its_answer_sends_nothing(world: World) -> None:
    parent = world.rater(world.case(), role="parent", channel="sms", phone="+4520304050")
    surveys = FakeSurveys()
    ask_now(world.session, parent, actor=WORKER, now=NOW, starter=starter(surveys))

    with pytest.raises(Invalid) as refused:
        ask_now(world.session, parent, actor=WORKER, now=NOW + timedelta(seconds=40),
                starter=starter(surveys))

    assert refused.value.code == "already_asked"
    assert refused.value.facts["since"].startswith("2026-03-02T09:00")
    assert len(surveys.started) == 1 and len(prompts(world)) == 1
    assert len(world.audit("survey.send")) == 1


def test_asking_while_an_earlier_request_waits_for_its_hour_sends_nothing(world: World) -> None:
    child = world.rater(world.case())
    surveys = FakeSurveys()
    evening = NOW.replace(hour=21)
    ask_now(world.session, child, actor=WORKER, now=evening, starter=starter(surveys))

    with pytest.raises(Invalid) as refused:
        ask_now(world.session, child, actor=WORKER, now=evening, starter=starter(surveys))

    assert refused.value.code == "ask_queued"
    assert surveys.started == [] and len(prompts(world)) == 1


def test_once_the_survey_is_over_the_person_can_be_asked_again(world: World) -> None:
    child = world.rater(world.case())
    surveys = FakeSurveys()
    first = ask_now(world.session, child, actor=WORKER, now=NOW, starter=starter(surveys))
    done = world.session.get(Conversation, first.conversation_id)
    assert done is not None
    done.status = "completed"

    again = ask_now(world.session, child, actor=WORKER, now=NOW + timedelta(hours=1),
                    starter=starter(surveys))

    assert again.started and again.conversation_id != first.conversation_id
    assert len(surveys.started) == 2
