"""AGPL §13: every dashboard and web-chat page links to the source; /source names the licence,
or sends the reader to STEMME_SOURCE_URL when the operator set one."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.runtime.settings import SettingsError, load_settings
from tests.dashboard.harness import Site, start_site, stop_site

ROOT = Path(__file__).resolve().parents[2]


async def test_the_source_page_names_the_licence_without_a_sign_in(site: Site) -> None:
    agent = site.agent()

    status, html = await agent.get("/source")

    assert status == 200
    assert "AGPL-3.0-or-later" in html and "Kildekode" in html and "kildekoden" in html
    assert 'href="https://www.gnu.org/licenses/agpl-3.0.html"' in html
    assert agent.last is not None
    assert "default-src 'none'" in agent.last.headers["Content-Security-Policy"]

    status, html = await agent.get("/source?lang=en")
    assert status == 200 and "Source code" in html and "source code of the version" in html


async def test_dashboard_pages_and_the_web_chat_link_to_the_source(site: Site) -> None:
    agent = site.agent()

    _, login = await agent.get("/login")
    assert '<a href="/source">Kildekode</a>' in login
    _, english = await agent.get("/login?lang=en")
    assert '<a href="/source">Source code</a>' in english

    status, chat = await agent.get("/chat/no-such-link")
    assert status == 404  # the page for a link that no longer works has the footer too
    assert 'href="/source?lang=da"' in chat and ">Kildekode</a>" in chat


async def test_the_source_page_sends_to_the_operators_url(tmp_path: Path) -> None:
    site = await start_site(tmp_path, source_url="https://git.example.org/kommune/stemme")
    try:
        agent = site.agent()
        status, _ = await agent.get("/source")
        assert status == 302 and agent.last is not None
        assert agent.last.headers["Location"] == "https://git.example.org/kommune/stemme"
    finally:
        await stop_site(site)


def test_a_source_url_that_is_not_a_web_address_is_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("STEMME_SOURCE_URL", "git@example.org:stemme.git")

    with pytest.raises(SettingsError, match="STEMME_SOURCE_URL"):
        load_settings()


def test_the_licence_is_the_complete_agpl() -> None:
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")

    assert text.startswith("                    GNU AFFERO GENERAL PUBLIC LICENSE\n"
                           "                       Version 3, 19 November 2007\n")
    assert "  13. Remote Network Interaction; Use with the GNU General Public License." in text
    assert "  17. Interpretation of Sections 15 and 16." in text
    assert text.rstrip().endswith("<https://www.gnu.org/licenses/>.")
    assert len(text.encode()) == 34523  # the FSF's agpl-3.0.txt, byte for byte in length
