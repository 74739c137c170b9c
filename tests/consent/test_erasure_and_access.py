"""Erasure that holds (copies included), art. 15 exports, START resuming only what was agreed."""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from bot.cli.main import main
from consent import agreements
from consent.gate import ContactGate
from storage.crypto import DecryptionError
from storage.db import make_engine
from storage.keys import KeyRing
from storage.models import Answer, Case, FreeText, Participant, utcnow
from storage.repo import cases
from storage.repo.answers import ItemScore, record_answer, record_free_text
from storage.repo.users import create_user
from storage.vault import Vault


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A migrated SQLite instance with two cases; the CLI works against it."""
    for key in list(os.environ):
        if key.startswith("STEMME_") and key != "STEMME_TEST_POSTGRES_URL":
            monkeypatch.delenv(key)
    monkeypatch.setenv("STEMME_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    assert main(["migrate"]) == 0
    return tmp_path / "data"


def populate(data: Path) -> dict[str, str]:
    engine = make_engine(f"sqlite:///{data / 'stemme.db'}")
    vault = Vault(KeyRing.load(data / "keys.json"))
    from storage.blind_index import BlindIndex

    index = BlindIndex(vault.ring)
    ids: dict[str, str] = {}
    at = datetime(2026, 11, 20, 15, tzinfo=UTC)
    with Session(engine, expire_on_commit=False) as session:
        worker = create_user(session, email="cw@example.org", role="caseworker", password=None)
        for label, name in (("a", "Sofie Zebrafinke"), ("b", "Anders And")):
            case = cases.create_case(session, vault, ref=f"K-{label}", child_name=name,
                                     birth_date=date(2014, 5, 31), caseworker_id=worker.id)
            child = cases.add_participant(session, vault, index, case=case, role="child",
                                          channel="webchat")
            parent = cases.add_participant(session, vault, index, case=case, role="parent",
                                           channel="sms", phone=f"+45 20 30 40 5{len(ids)}")
            for person, score in ((child, 7.0), (parent, 4.0)):
                for item in ("me", "family", "school", "overall"):
                    record_answer(session, vault, person, ItemScore("outcome-child", "1", item,
                                                                    score), answered_at=at)
            record_free_text(session, vault, child, f"hemmelighed fra {label}")
            ids[f"case_{label}"], ids[f"child_{label}"] = case.id, child.id
            ids[f"parent_{label}"] = parent.id
        session.commit()
    engine.dispose()
    return ids


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    code = main([*argv, "--json"])
    result = json.loads(capsys.readouterr().out.strip())
    assert code == 0, result
    return result


def test_after_erasure_the_case_cannot_be_read_not_even_from_an_earlier_copy(
    instance: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = populate(instance)
    backup = instance.parent / "backup.db"
    shutil.copy(instance / "stemme.db", backup)  # a backup taken before the erasure

    result = run(capsys, "erase", "--case", ids["case_a"])

    export = json.loads(Path(result["export"]).read_text())
    assert len(export["answers"]) == 8 and export["comments"][0]["text"] == "hemmelighed fra a"
    live = Vault(KeyRing.load(instance / "keys.json"))
    for db in (instance / "stemme.db", backup):
        engine = make_engine(f"sqlite:///{db}")
        with Session(engine) as session:
            erased = session.exec(select(Answer).where(Answer.case_id == ids["case_a"])).all()
            assert len(erased) == 8
            for row in erased:
                with pytest.raises(DecryptionError):
                    live.open(session, row, "score")
            case = session.get(Case, ids["case_a"])
            with pytest.raises(DecryptionError):
                live.open(session, case, "child_name")
        engine.dispose()
    # The other case is untouched in the live database.
    engine = make_engine(f"sqlite:///{instance / 'stemme.db'}")
    with Session(engine) as session:
        other = session.get(Case, ids["case_b"])
        assert live.open(session, other, "child_name") == "Anders And"
        gone = session.get(Participant, ids["parent_a"])
        assert gone.phone_index is None and gone.status == "erased"
    engine.dispose()


def test_the_export_of_an_erased_case_holds_no_answers(
    instance: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = populate(instance)
    run(capsys, "erase", "--case", ids["case_a"])
    out = instance / "after.json"
    result = run(capsys, "export", "--case", ids["case_a"], "--format", "json", "--out", str(out))
    assert result["answers"] == 0 and json.loads(out.read_text())["answers"] == []
    assert json.loads(out.read_text())["messages"] == []


def test_the_json_export_holds_what_was_written_until_the_writer_is_erased(
    instance: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = populate(instance)
    before, after = instance / "before.json", instance / "after.json"
    run(capsys, "export", "--case", ids["case_a"], "--format", "json", "--out", str(before))
    erased = run(capsys, "erase", "--participant", ids["child_a"])
    run(capsys, "export", "--case", ids["case_a"], "--format", "json", "--out", str(after))

    messages = json.loads(before.read_text())["messages"]
    assert [(m["participant_id"], m["text"], m["flag"]) for m in messages] == [
        (ids["child_a"], "hemmelighed fra a", None)]
    assert json.loads(after.read_text())["messages"] == []
    assert json.loads(Path(erased["export"]).read_text())["comments"][0]["text"] == (
        "hemmelighed fra a")  # the case system got the words before the key went
    engine = make_engine(f"sqlite:///{instance / 'stemme.db'}")
    with Session(engine) as session:
        words = session.exec(select(FreeText).where(FreeText.participant_id == ids["child_a"]))
        with pytest.raises(DecryptionError):
            Vault(KeyRing.load(instance / "keys.json")).open(session, words.one(), "text")
    engine.dispose()


def test_a_participant_s_art15_export_has_all_their_answers_and_nobody_else_s(
    instance: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = populate(instance)
    out = instance / "me.json"
    run(capsys, "export", "--participant", ids["child_a"], "--format", "json", "--out", str(out))
    document = json.loads(out.read_text())
    assert len(document["answers"]) == 4
    assert {a["participant_id"] for a in document["answers"]} == {ids["child_a"]}
    assert [c["text"] for c in document["comments"]] == ["hemmelighed fra a"]
    assert document["participant"]["name"] == "Sofie Zebrafinke"


def test_erasing_one_participant_leaves_the_rest_of_the_case_readable(
    instance: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = populate(instance)
    run(capsys, "erase", "--participant", ids["parent_a"])
    out = instance / "case.json"
    run(capsys, "export", "--case", ids["case_a"], "--format", "json", "--out", str(out))
    answers = json.loads(out.read_text())["answers"]
    assert {a["participant_id"] for a in answers} == {ids["child_a"]}


def test_start_resumes_only_what_the_person_agreed_to(engine, vault, index) -> None:
    now = utcnow()
    gate = ContactGate(vault)
    with Session(engine, expire_on_commit=False) as session:
        worker = create_user(session, email="x@example.org", role="caseworker", password=None)
        case = cases.create_case(session, vault, ref="K", child_name="A",
                                 birth_date=date(2000, 1, 1), caseworker_id=worker.id)
        agreed = cases.add_participant(session, vault, index, case=case, role="parent",
                                       channel="sms", phone="+4511111111")
        never = cases.add_participant(session, vault, index, case=case, role="parent",
                                      channel="sms", phone="+4522222222")
        agreements.record(session, agreed, action="given", given_by="self",
                          recorded_by="participant", at=now - timedelta(days=2))
        for person in (agreed, never):
            agreements.record(session, person, action="withdrawn", given_by="self",
                              recorded_by="participant", at=now - timedelta(days=1))
            agreements.record(session, person, action="resumed", given_by="self",
                              recorded_by="participant", at=now)
        session.commit()
        assert gate.may_contact(session, agreed, "survey", "sms", now)
        decision = gate.may_contact(session, never, "survey", "sms", now)
        assert not decision and decision.reason == "consent:not_given"
