"""The dashboard in a real browser: Debian's headless Chromium driven by Playwright.

Screenshots of every page go to test-artifacts/. Without /usr/bin/chromium these tests skip
(`make test` never downloads a browser; .ci/run installs Debian's chromium).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlmodel import Session

from bot.cli import demo
from storage.models import Case, Participant
from tests.dashboard.harness import Site, start_site, stop_site

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium: install Debian's "
                       "chromium (apt-get install chromium) to run the browser tests"),
]

if CHROMIUM.exists():
    from playwright.async_api import Browser, Page, async_playwright
    from playwright.async_api import expect as expect_
else:  # pragma: no cover - the module is skipped
    Browser = Page = object  # type: ignore[assignment,misc]


@pytest.fixture
async def demo_site(tmp_path: Path) -> AsyncIterator[Site]:
    """The app with the demo seeded, as `make run` leaves it."""
    site = await start_site(tmp_path)
    with Session(site.rt.engine) as session:
        demo.seed(session, site.rt, site.clock())
        session.commit()
    try:
        yield site
    finally:
        await stop_site(site)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Headless Chromium from Debian (no downloaded browser, no network beyond localhost)."""
    async with async_playwright() as p:
        chromium = await p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


async def shot(page: Page, name: str) -> None:
    """A full-page screenshot for people to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"dashboard-{name}.png"), full_page=True)


async def test_a_caseworker_sets_up_a_case_invites_the_child_and_exports_the_demo_case(
    demo_site: Site, browser: Browser
) -> None:
    site = demo_site
    context = await browser.new_context(viewport={"width": 1280, "height": 900},
                                        locale="da-DK", timezone_id="Europe/Copenhagen")
    page = await context.new_page()
    expect = expect_

    # Sign in.
    await page.goto(f"{site.base}/")
    await expect(page.get_by_role("heading", name="Log ind")).to_be_visible()
    await shot(page, "01-login")
    await page.get_by_label("E-mail").fill(demo.CASEWORKER)
    await page.get_by_label("Adgangskode").fill(demo.PASSWORD)
    await page.get_by_role("button", name="Log ind").click()
    await expect(page.get_by_role("heading", name="Mine sager")).to_be_visible()
    first_row = page.locator("table.cases tbody tr").first
    await expect(first_row).to_contain_text("DEMO-2")  # the case that is not on track
    await shot(page, "02-my-cases")

    # Create a case.
    await page.get_by_role("link", name="Ny sag").first.click()
    await page.get_by_label("Sagsnummer").fill("K-2026-042")
    await page.get_by_label("Barnets fornavn").fill("Noah")
    await page.get_by_label("Barnets fødselsdato").fill("2016-03-14")
    await page.get_by_label("Opfølgningsrytme").select_option("haderslev")
    await shot(page, "03-new-case")
    await page.get_by_role("button", name="Opret sagen").click()
    await expect(page.get_by_role("heading", name="K-2026-042 · Noah")).to_be_visible()

    # Add the child on web chat, with a custody holder's agreement; the invite shows a QR code.
    await page.get_by_label("Rolle").select_option("child")
    await page.get_by_label("Kanal").select_option("webchat")
    await page.get_by_label("Forældremyndigheden har sagt ja").check()
    await page.get_by_role("button", name="Tilføj", exact=True).click()
    await expect(page.get_by_role("heading", name="Invitation")).to_be_visible()
    qr = page.locator("svg.qr")
    await expect(qr).to_be_visible()
    link = await page.get_by_label("Link").input_value()
    assert link.startswith(f"{site.base}/chat/")
    await shot(page, "04-invite-qr")

    # Add a parent on SMS.
    await page.get_by_role("link", name="Tilbage til sagen").click()
    await page.locator("#raters > details > summary").click()
    await page.get_by_label("Rolle").select_option("parent")
    await page.get_by_label("Kanal").select_option("sms")
    await page.get_by_label("Mobilnummer").fill("+45 20 30 40 50")
    await page.get_by_role("button", name="Tilføj", exact=True).click()
    await expect(page.get_by_role("status")).to_contain_text("Deltageren er tilføjet")
    raters = page.locator("#raters tbody tr")
    await expect(raters).to_have_count(2)
    await shot(page, "05-new-case-with-raters")

    # The demo case: its graph, then a PDF export.
    await page.get_by_role("link", name="Mine sager").click()
    await page.get_by_role("link", name="DEMO-1").click()
    graph = page.locator("section.graph img")
    await expect(graph).to_be_visible()
    width = await graph.evaluate("img => img.decode().then(() => img.naturalWidth)")
    assert width > 0
    await expect(page.locator("section.status")).to_contain_text("På rette spor")
    await shot(page, "06-demo-case")
    async with page.expect_download() as info:
        await page.get_by_role("link", name="Journal (PDF)").click()
    download = await info.value
    pdf = Path(await download.path()).read_bytes()
    assert pdf.startswith(b"%PDF")
    assert download.suggested_filename.startswith("stemme-DEMO-1-")

    # The digest preview, and the English switch.
    await page.get_by_role("link", name="Ugeoversigt").click()
    frame = page.frame_locator("iframe.digest")
    await expect(frame.locator("h1")).to_contain_text("uge")
    await shot(page, "07-digest")
    await page.get_by_role("link", name="English").click()
    await expect(page.get_by_role("heading", name="Weekly digest")).to_be_visible()
    await page.get_by_role("link", name="My cases").click()
    await page.get_by_role("link", name="DEMO-2").click()
    await expect(page.locator("section.status")).to_contain_text("Not on track")
    await shot(page, "08-demo-case-english")

    # An API token for the case system, shown once.
    await page.get_by_role("link", name="API tokens").click()
    await page.get_by_label("Name").fill("Case system")
    await page.get_by_role("button", name="Create token").click()
    await expect(page.locator("p.token")).to_contain_text("stm_")
    await shot(page, "09-api-token")
    await context.close()

    created = site.rows(Case, ref="K-2026-042")[0]
    people = site.rows(Participant, case_id=created.id)
    assert sorted(p.role for p in people) == ["child", "parent"]
    assert [e.target for e in site.audit("export.pdf")] == [f"case:{demo_case_id(site)}"]
    assert len(site.audit("case.view")) >= 3


def demo_case_id(site: Site, ref: str = "DEMO-1") -> str:
    """The id of a demo case by its reference."""
    return str(site.rows(Case, ref=ref)[0].id)
