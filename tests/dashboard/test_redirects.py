"""Every `next=` stays on the site: no open redirect, however the target is dressed up."""

from __future__ import annotations

import re
from urllib.parse import unquote, urljoin, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dashboard.guard import local_path
from tests.dashboard.harness import PASSWORD, Agent, Site

ELSEWHERE = ["/\t/evil.example", "/%09/evil.example", "//evil.example", "\\\\evil.example",
             "/\\evil.example", "https://evil.example", "/%0d%0aevil", "/\x0b/evil.example",
             "/%2F/evil.example", "/..//evil.example", "/%2e%2e//evil.example", "/%ff"]
SITE = "https://stemme.kommune.dk"


def stays_on_site(location: str | None) -> bool:
    """What a browser makes of a Location: tabs and newlines dropped, "\\" read as "/"."""
    seen = re.sub(r"[\t\n\r]", "", location or "").strip("\x00 ").replace("\\", "/")
    return urlsplit(urljoin(SITE + "/login", seen)).netloc == urlsplit(SITE).netloc


@pytest.mark.parametrize("target", ELSEWHERE)
async def test_a_next_that_leaves_the_site_goes_to_the_case_list_before_sign_in(
    site: Site, target: str,
) -> None:
    site.user("anna@kommune.dk")
    anna = site.agent()

    _, _, switched = await _language(anna, target)
    _, form = await anna.get("/login", params={"next": target})
    status, _, signed_in = await anna.post("/login", {
        "email": "anna@kommune.dk", "password": PASSWORD, "next": target})

    assert switched == "/" and stays_on_site(switched)
    assert 'name="next" value="/"' in form
    assert status == 303 and signed_in == "/" and stays_on_site(signed_in)


@pytest.mark.parametrize("target", ELSEWHERE)
async def test_a_next_that_leaves_the_site_goes_to_the_case_list_after_sign_in(
    site: Site, target: str,
) -> None:
    site.user("anna@kommune.dk")
    anna = site.agent()
    await anna.sign_in("anna@kommune.dk")

    status, _, switched = await _language(anna, target)

    assert status == 303 and switched == "/" and stays_on_site(switched)


async def test_a_path_on_the_site_is_where_the_reader_goes(site: Site) -> None:
    site.user("anna@kommune.dk")
    anna = site.agent()
    await anna.get("/login", params={"next": "/cases/new?from=list"})

    _, _, location = await anna.post("/login", {
        "email": "anna@kommune.dk", "password": PASSWORD, "next": "/cases/new?from=list"})

    assert location == "/cases/new?from=list"


@given(st.text(alphabet=st.sampled_from("/\\\t\r\n\x00%09adfe.:?#@ "), max_size=12)
       | st.text(max_size=12))
def test_whatever_next_says_the_target_stays_on_the_site(target: str) -> None:
    chosen = local_path(target)

    assert stays_on_site(chosen) and stays_on_site(unquote(chosen))


async def _language(agent: Agent, target: str) -> tuple[int, str, str | None]:
    """GET /language?next=<target>: the status, the body and where it sends the reader."""
    async with agent.http.get("/language", params={"to": "en", "next": target},
                              allow_redirects=False) as resp:
        return resp.status, await resp.text(), resp.headers.get("Location")
