"""STEMME_RULES_FILE: checked at start, used for every case, listed for admins with sources."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session

from bot.cli.main import main
from storage.repo import cases
from storage.repo.answers import ItemScore, record_answer
from tests.dashboard.harness import Site, start_site, stop_site

RULES = """
session_alert_below = 30.5
safety_response_hours = 12

[[age_bands]]
name = "all"
min_age = 0
cutoff = 30
reliable_change = 6
"""


def _session_rated_32(site: Site) -> str:
    """Anna's case where the child rated the last session 32 (below the shipped 36)."""
    site.user("anna@kommune.dk")
    case_id = site.case("anna@kommune.dk")
    with Session(site.rt.engine) as session:
        child = cases.add_participant(session, site.rt.vault, site.rt.index,
                                      case=cases.get_case(session, case_id), role="child",
                                      channel="webchat")
        for item in ("heard", "topics", "approach", "overall"):
            record_answer(session, site.rt.vault, child,
                          ItemScore("session-child", "1", item, 8.0),
                          answered_at=site.clock() - timedelta(hours=1))
        session.commit()
    return case_id


async def test_a_rules_file_is_used_for_the_cases_and_listed_for_admins(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(RULES)
    site = await start_site(tmp_path, rules_file=path)
    try:
        site.user("admin@kommune.dk", role="admin")
        case_id = _session_rated_32(site)
        admin, anna = site.agent(), site.agent()
        await admin.sign_in("admin@kommune.dk")
        await anna.sign_in("anna@kommune.dk")

        status, page = await admin.get("/rules")
        hidden, _ = await anna.get("/rules")
        _, case_page = await anna.get(f"/cases/{case_id}")
    finally:
        await stop_site(site)

    assert status == 200 and hidden == 404
    assert f"Regelfil: {path}" in page
    row = page[page.index("<code class=\"small muted\">session_alert_below"):]
    row = row[:row.index("</tr>")]
    assert "30,5" in row and "36" in row and "Regelfilen" in row
    drop = page[page.index("<code class=\"small muted\">session_drop"):]
    assert "Stemmes standard" in drop[:drop.index("</tr>")]
    assert "<code>all</code>" in page
    # 32 is below 36 (the default) but not below the file's 30.5: no session alert.
    assert "samtalen vurderet" not in case_page


async def test_without_a_rules_file_every_rule_is_the_shipped_one(tmp_path: Path) -> None:
    site = await start_site(tmp_path)
    try:
        site.user("admin@kommune.dk", role="admin")
        case_id = _session_rated_32(site)
        admin, anna = site.agent(), site.agent()
        await admin.sign_in("admin@kommune.dk")
        await anna.sign_in("anna@kommune.dk")
        status, page = await admin.get("/rules")
        _, case_page = await anna.get(f"/cases/{case_id}")
    finally:
        await stop_site(site)

    assert status == 200 and "Ingen regelfil" in page and "Regelfilen" not in page
    assert "<code>young_child</code>" in page
    assert "samtalen vurderet 32 (under 36)" in case_page


@pytest.mark.parametrize(("text", "named"), [
    ("session_alert_below = 30\nsesion_drop = 2\n", "sesion_drop"),
    ("missing_in_a_row = 'two'\n", "missing_in_a_row"),
    ("[[age_bands]]\nname = 'x'\nmin_age = 0\ncutoff = 30\nchange = 6\n", "change"),
    ("session_drop = \n", "line 1"),
])
def test_a_bad_rules_file_stops_serve_with_one_line_naming_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    text: str, named: str,
) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(text)
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("STEMME_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("STEMME_RULES_FILE", str(path))

    assert main(["serve", "--port", "1"]) == 1

    err = capsys.readouterr().err.strip()
    assert err.startswith("error: STEMME_RULES_FILE ") and named in err and "\n" not in err
