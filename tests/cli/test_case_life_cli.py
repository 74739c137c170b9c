"""`stemme case close|reopen|handover` and `stemme user deactivate --handover-to`: one JSON
object each, and a refusal is one readable line with exit code 1, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.test_cli import env, run  # noqa: F401  (the fixture)


def a_case(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> str:
    assert run(capsys, "migrate")[0] == 0
    for email in ("cw@example.org", "bo@example.org"):
        assert run(capsys, "user", "add", "--email", email, "--role", "caseworker",
                   "--password-stdin", stdin="correct horse battery\n",
                   monkeypatch=monkeypatch)[0] == 0
    code, case = run(capsys, "case", "create", "--ref", "K-1", "--child-name", "Sofie",
                     "--birth-date", "2016-02-29", "--caseworker", "cw@example.org")
    assert code == 0
    return str(case["case_id"])


def test_a_case_is_closed_reopened_and_handed_over(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    case_id = a_case(capsys, monkeypatch)

    closed = run(capsys, "case", "close", "--case", case_id, "--reason", "Planned end")
    again = run(capsys, "case", "close", "--case", case_id)
    reopened = run(capsys, "case", "reopen", "--case", case_id)
    handed = run(capsys, "case", "handover", "--case", case_id, "--to", "bo@example.org")

    assert closed[0] == 0 and closed[1]["status"] == "closed" and closed[1]["goodbyes"] == 0
    assert again[0] == 1 and again[1]["message"] == (
        f"case {case_id} is closed; only an open case can be closed")
    assert reopened[0] == 0 and reopened[1]["status"] == "open"
    assert handed[0] == 0 and handed[1]["caseworker_email"] == "bo@example.org"


def test_deactivating_an_owner_of_open_cases_needs_handover_to(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    a_case(capsys, monkeypatch)

    refused = run(capsys, "user", "deactivate", "--email", "cw@example.org")
    done = run(capsys, "user", "deactivate", "--email", "cw@example.org", "--handover-to",
               "bo@example.org")

    assert refused[0] == 1 and refused[1]["message"] == (
        "cw@example.org owns 1 open case(s): name who takes them over with --handover-to E")
    assert done[0] == 0 and done[1]["cases_moved"] == 1
