"""`stemme token create`, `stemme user reset-password` and `stemme user reactivate`: one JSON
object each; the token and the link are printed once and work."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session

from casework.passwords import reset_password
from storage.db import make_engine
from storage.models import utcnow
from storage.passwords import verify_password
from tests.cli.test_cli import env, run  # noqa: F401  (the fixture)
from tests.dashboard.harness import start_site, stop_site

PASSWORD = "correct horse battery"


def a_user(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
           email: str = "cw@example.org") -> None:
    assert run(capsys, "migrate")[0] == 0
    assert run(capsys, "user", "add", "--email", email, "--role", "caseworker",
               "--password-stdin", stdin=PASSWORD + "\n", monkeypatch=monkeypatch)[0] == 0


async def test_a_token_made_on_the_command_line_opens_the_api_as_its_user(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,  # noqa: F811
    db_url: str,
) -> None:
    a_user(capsys, monkeypatch)

    code, made = run(capsys, "token", "create", "--user", "cw@example.org", "--name", "CMS")
    site = await start_site(env / "site", database_url=db_url,
                            key_file=env / "data" / "keys.json")
    try:
        async with site.agent().http.get(
                "/api/v1/me", headers={"Authorization": f"Bearer {made['token']}"}) as resp:
            status, me = resp.status, await resp.json()
        created = site.audit("api_token.create")
    finally:
        await stop_site(site)

    assert code == 0 and made["token"].startswith("stm_") and made["name"] == "CMS"
    assert (status, me["email"]) == (200, "cw@example.org")
    assert [e.actor.startswith("cli:") for e in created] == [True]


def test_a_token_for_someone_unknown_or_deactivated_is_refused(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    a_user(capsys, monkeypatch)
    run(capsys, "user", "deactivate", "--email", "cw@example.org")

    unknown = run(capsys, "token", "create", "--user", "nobody@example.org")
    deactivated = run(capsys, "token", "create", "--user", "cw@example.org")

    assert unknown[0] == 1 and unknown[1]["error"] == "NotFound"
    assert deactivated[0] == 1 and deactivated[1]["message"] == (
        "cw@example.org is deactivated; reactivate them first")


def test_a_reset_link_from_the_command_line_sets_a_new_password_once(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,  # noqa: F811
    db_url: str,
) -> None:
    a_user(capsys, monkeypatch)

    code, made = run(capsys, "user", "reset-password", "--email", "cw@example.org")
    token = made["reset_url"].rsplit("/", 1)[1]
    engine = make_engine(db_url)
    try:
        with Session(engine, expire_on_commit=False) as session:
            user = reset_password(session, token, new="a brand new long password",
                                  repeat=None, now=utcnow())
            session.commit()
    finally:
        engine.dispose()

    assert code == 0
    assert made["reset_url"].startswith("http://127.0.0.1:8080/account/reset/")
    assert not verify_password(user.password_hash, PASSWORD)
    assert verify_password(user.password_hash, "a brand new long password")


def test_a_deactivated_user_is_reactivated_once(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    a_user(capsys, monkeypatch)
    run(capsys, "user", "deactivate", "--email", "cw@example.org")

    done = run(capsys, "user", "reactivate", "--email", "cw@example.org")
    again = run(capsys, "user", "reactivate", "--email", "cw@example.org")

    assert done[0] == 0 and done[1]["email"] == "cw@example.org"
    assert again[0] == 1 and again[1]["message"] == "cw@example.org is active already"
