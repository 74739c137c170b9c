"""`stemme team add`, `provider add`, `user add --role leader|provider --team --provider` and
`deputy add`: one JSON object each; a refusal is one readable line with exit code 1."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, select

from bot.runtime.parts import Runtime
from bot.runtime.settings import load_settings
from storage.models import Case, Deputy, User
from tests.cli.test_cli import env, run  # noqa: F401  (the fixture)


def user(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, object]]:
    return run(capsys, "user", "add", *args)


def test_an_organisation_is_set_up_from_the_command_line(
    env: Path, capsys: pytest.CaptureFixture[str]  # noqa: F811
) -> None:
    assert run(capsys, "migrate")[0] == 0

    team = run(capsys, "team", "add", "--name", "Børn Vest")
    org = run(capsys, "provider", "add", "--name", "Familiehuset")
    cw = user(capsys, "--email", "cw@example.org", "--role", "caseworker", "--team",
              "Børn Vest")
    leader = user(capsys, "--email", "leder@example.org", "--role", "leader", "--team",
                  "Børn Vest")
    therapist = user(capsys, "--email", "t@familiehuset.dk", "--role", "provider",
                     "--provider", "Familiehuset")
    deputy = run(capsys, "deputy", "add", "--for", "cw@example.org", "--deputy",
                 "leder@example.org", "--from", "2027-07-01", "--to", "2027-07-21")
    case = run(capsys, "case", "create", "--ref", "K-1", "--child-name", "Sofie",
               "--birth-date", "2016-02-29", "--caseworker", "cw@example.org",
               "--provider", "Familiehuset")

    assert [r[0] for r in (team, org, cw, leader, therapist, deputy, case)] == [0] * 7
    assert deputy[1]["starts_at"] == "2027-06-30T22:00:00+00:00"  # local days, in UTC
    assert deputy[1]["ends_at"] == "2027-07-21T22:00:00+00:00"
    rt = Runtime(load_settings())
    try:
        with Session(rt.engine) as session:
            users = {u.email: u for u in session.exec(select(User)).all()}
            stored = session.get(Case, str(case[1]["case_id"]))
            assert stored is not None and stored.provider_id == org[1]["provider_id"]
            assert users["leder@example.org"].team_id == team[1]["team_id"]
            assert users["t@familiehuset.dk"].provider_id == org[1]["provider_id"]
            assert len(session.exec(select(Deputy)).all()) == 1
    finally:
        rt.close()


def test_what_cannot_be_set_up_is_one_line(
    env: Path, capsys: pytest.CaptureFixture[str]  # noqa: F811
) -> None:
    assert run(capsys, "migrate")[0] == 0

    unknown_team = user(capsys, "--email", "cw@example.org", "--role", "caseworker",
                        "--team", "Findes ikke")
    lonely = user(capsys, "--email", "p@example.org", "--role", "provider")
    backwards = run(capsys, "deputy", "add", "--for", "a@example.org", "--deputy",
                    "b@example.org", "--from", "2027-07-21", "--to", "2027-07-01")

    assert unknown_team == (1, {"ok": False, "error": "CommandError", "message":
                                "there is no team 'Findes ikke'; create it with: stemme team "
                                "add --name NAME"})
    assert lonely[0] == 1 and "needs --provider" in str(lonely[1]["message"])
    assert backwards[0] == 1
