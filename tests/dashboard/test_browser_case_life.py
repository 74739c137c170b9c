"""A case's life in a real browser (Debian's headless Chromium): closing, reopening and handing
over on the case page, the leader's list, and the provider's reduced view."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from casework import organisation
from storage.models import utcnow
from storage.repo import cases
from tests.dashboard.harness import PASSWORD, Site, start_site, stop_site
from tests.dashboard.test_browser import Browser, Page, browser, pytestmark, shot
from tests.dashboard.test_organisation import arrange, in_team, provider_user, with_words

# The fixture, and the browser marker with its skip without Debian's chromium, are shared
# with test_browser.py.
__all__ = ["browser", "pytestmark"]

if TYPE_CHECKING or Page is not object:
    from playwright.async_api import expect


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    running = await start_site(tmp_path)
    try:
        yield running
    finally:
        await stop_site(running)


async def signed_in(browser: Browser, site: Site, email: str) -> Page:
    context = await browser.new_context(viewport={"width": 1280, "height": 900},
                                        locale="da-DK", timezone_id="Europe/Copenhagen")
    page = await context.new_page()
    await page.goto(f"{site.base}/")
    await page.get_by_label("E-mail").fill(email)
    await page.get_by_label("Adgangskode").fill(PASSWORD)
    await page.get_by_role("button", name="Log ind").click()
    await expect(page.get_by_role("heading", name="Mine sager")).to_be_visible()
    return page


async def test_a_caseworker_closes_reopens_and_hands_over_a_case(
        site: Site, browser: Browser) -> None:
    site.user("anna@kommune.dk")
    site.user("bo@kommune.dk")
    site.case("anna@kommune.dk", ref="K-2026-9")
    page = await signed_in(browser, site, "anna@kommune.dk")
    await page.get_by_role("link", name="K-2026-9").click()

    # Close, with a reason.
    await page.locator("#life summary", has_text="Luk sagen").click()
    await page.get_by_label("Begrundelse").fill("Foranstaltningen er slut")
    await page.get_by_role("button", name="Luk sagen").click()
    await expect(page.get_by_role("status").first).to_contain_text("Sagen er lukket")
    await shot(page, "20-case-closed")

    # Reopen.
    await page.locator("#life").get_by_role("button", name="Genåbn sagen").click()
    await expect(page.get_by_text("Sagen er lukket")).to_have_count(0)

    # Hand over to Bo: Anna lands on her list without the case; Bo finds it on his.
    await page.locator("#life summary", has_text="Overdrag sagen").click()
    await page.get_by_label("Ny sagsbehandlers e-mail").fill("bo@kommune.dk")
    await page.get_by_role("button", name="Overdrag", exact=True).click()
    await expect(page.get_by_role("heading", name="Mine sager")).to_be_visible()
    await expect(page.get_by_role("link", name="K-2026-9")).to_have_count(0)
    bo = await signed_in(browser, site, "bo@kommune.dk")
    await expect(bo.get_by_role("link", name="K-2026-9")).to_be_visible()
    await shot(bo, "21-handed-over")


async def test_a_leader_lists_the_teams_cases_and_a_provider_sees_only_ratings_and_words(
        site: Site, browser: Browser) -> None:
    arrange(site, lambda s: organisation.add_team(s, actor="cli", name="Vest", now=utcnow()))
    arrange(site, lambda s: organisation.add_provider(s, actor="cli", name="Familiehuset",
                                                      now=utcnow()))
    site.user("west@kommune.dk")
    site.user("east@kommune.dk")
    site.user("leder@kommune.dk", role="leader")
    for email in ("west@kommune.dk", "leder@kommune.dk"):
        in_team(site, email, "Vest")
    ours = site.case("west@kommune.dk", ref="V-1")
    site.case("east@kommune.dk", ref="Ø-1")
    with_words(site, ours)
    arrange(site, lambda s: organisation.set_case_provider(
        s, cases.get_case(s, ours), actor="cli", provider="Familiehuset", now=utcnow()))
    provider_user(site, "t@familiehuset.dk", "Familiehuset")

    leader = await signed_in(browser, site, "leder@kommune.dk")
    await expect(leader.get_by_role("link", name="V-1")).to_be_visible()
    await expect(leader.get_by_role("link", name="Ø-1")).to_have_count(0)
    await shot(leader, "22-leader-list")

    provider = await signed_in(browser, site, "t@familiehuset.dk")
    await provider.get_by_role("link", name="V-1").click()
    await expect(provider.get_by_text("det går fint i skolen")).to_be_visible()
    await expect(provider.get_by_text("Mor Hansen")).to_have_count(0)
    await expect(provider.get_by_text("Sagens forløb")).to_have_count(0)
    await shot(provider, "23-provider-view")
