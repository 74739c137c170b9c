"""Sign-in limits: growing waits per account, a ceiling per client address, neither a lockout."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dashboard.guard import client_address, trusted_networks
from tests.dashboard.harness import PASSWORD, Agent, Site, start_site, stop_site

PROXY = "127.0.0.1"  # the test server's peer is always this machine


@pytest.fixture
async def proxied(tmp_path: Path) -> AsyncIterator[Site]:
    """The app behind a trusted reverse proxy on this machine."""
    running = await start_site(tmp_path, trusted_proxies=PROXY)
    try:
        yield running
    finally:
        await stop_site(running)


def browser_at(site: Site, address: str) -> Agent:
    """A browser the proxy names in X-Forwarded-For."""
    agent = site.agent()
    agent.http.headers["X-Forwarded-For"] = address
    return agent


async def tries(agent: Agent, emails: list[str], password: str) -> list[int]:
    """Submit the sign-in form once per e-mail; the statuses, in order."""
    await agent.get("/login")
    return [(await agent.post("/login", {"email": email, "password": password}))[0]
            for email in emails]


def retry_after(agent: Agent) -> str:
    return agent.last.headers.get("Retry-After", "") if agent.last else ""


async def test_150_failed_sign_ins_from_client_a_do_not_stop_the_right_password_from_client_b(
    proxied: Site,
) -> None:
    proxied.user("anna@kommune.dk")
    guesser = browser_at(proxied, "203.0.113.7")
    anna = browser_at(proxied, "198.51.100.20")

    guesses = await tries(guesser, ["anna@kommune.dk"] * 150, "not the password")
    signed_in, _ = await anna.sign_in("anna@kommune.dk")
    guessed_right = (await tries(guesser, ["anna@kommune.dk"], PASSWORD))[0]

    assert guesses[:6] == [401] * 6 and set(guesses[6:]) == {429}  # then it must wait
    assert signed_in == 303
    assert guessed_right == 429  # the guesser waits even with the right password
    [throttled] = proxied.audit("sign_in.throttled")  # once, not 145 times
    assert throttled.actor.startswith("client:") and "203.0.113.7" not in throttled.detail


async def test_client_a_is_refused_after_its_limit_even_with_the_right_password(
    proxied: Site,
) -> None:
    proxied.user("anna@kommune.dk")
    proxied.user("bo@kommune.dk")
    sprayer = browser_at(proxied, "203.0.113.7")
    bo = browser_at(proxied, "198.51.100.20")

    sprayed = await tries(sprayer, [f"user{n}@kommune.dk" for n in range(150)], PASSWORD)
    own, _ = await sprayer.sign_in("anna@kommune.dk")
    wait = retry_after(sprayer)
    other, _ = await bo.sign_in("bo@kommune.dk")
    proxied.clock.advance(minutes=30)
    later, _ = await sprayer.sign_in("anna@kommune.dk")

    assert sprayed[:50] == [401] * 50 and set(sprayed[50:]) == {429}
    assert (own, wait) == (429, "900")
    assert other == 303  # another address behind the same proxy is not held back
    assert later == 303  # the limit lifts on its own
    [refused] = proxied.audit("sign_in.refused")
    assert refused.detail == "50 failed sign-ins from this client in 15 minutes"


async def test_an_x_forwarded_for_from_an_untrusted_peer_is_ignored(site: Site) -> None:
    site.user("anna@kommune.dk")
    guesser = browser_at(site, "203.0.113.7")
    anna = browser_at(site, "198.51.100.20")  # says another address; comes from the same peer

    await tries(guesser, ["anna@kommune.dk"] * 6, "not the password")
    status, _ = await anna.sign_in("anna@kommune.dk")

    assert status == 429  # one client to the server: the guesser's wait is hers too


async def test_a_failing_client_waits_longer_each_time_and_then_gets_in(proxied: Site) -> None:
    proxied.user("anna@kommune.dk")
    anna = browser_at(proxied, "198.51.100.20")

    free = await tries(anna, ["anna@kommune.dk"] * 6, "caps lock was on")
    first = (await tries(anna, ["anna@kommune.dk"], PASSWORD))[0], retry_after(anna)
    proxied.clock.advance(seconds=1)
    seventh = (await tries(anna, ["anna@kommune.dk"], "caps lock still on"))[0]
    second = (await tries(anna, ["anna@kommune.dk"], PASSWORD))[0], retry_after(anna)
    proxied.clock.advance(seconds=2)
    right = (await tries(anna, ["anna@kommune.dk"], PASSWORD))[0]

    assert free == [401] * 6
    assert first == (429, "1") and seventh == 401 and second == (429, "2")
    assert right == 303


@pytest.mark.parametrize(("peer", "forwarded", "client"), [
    ("203.0.113.7", ["198.51.100.20"], "203.0.113.7"),  # not a proxy: its header is ignored
    ("10.0.0.2", ["198.51.100.20"], "198.51.100.20"),
    ("10.0.0.2", ["6.6.6.6, 198.51.100.20"], "198.51.100.20"),  # the client's own claim: no
    ("10.0.0.2", ["198.51.100.20, 10.0.0.3"], "198.51.100.20"),  # past a chain of proxies
    ("10.0.0.2", ["198.51.100.20:51234"], "198.51.100.20"),
    ("10.0.0.2", ["not an address"], "10.0.0.2"),
    ("10.0.0.2", [], "10.0.0.2"),
    ("::ffff:10.0.0.2", ["2001:db8::1"], "2001:db8::1"),
])
def test_the_client_is_the_first_hop_no_trusted_proxy_vouches_for(
    peer: str, forwarded: list[str], client: str,
) -> None:
    trusted = trusted_networks("10.0.0.0/24, not-a-network")

    assert client_address(peer, forwarded, trusted) == client
