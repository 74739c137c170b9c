"""Sign-in, sessions, CSRF and case access: what keeps one caseworker out of another's cases."""

from __future__ import annotations

from pathlib import Path

from dashboard import accounts
from storage.models import WebSession
from tests.dashboard.harness import PASSWORD, Site, start_site, stop_site


async def test_another_caseworkers_case_is_not_found_in_pages_and_api(site: Site) -> None:
    site.user("anna@kommune.dk")
    site.user("bo@kommune.dk")
    annas = site.case("anna@kommune.dk", ref="K-ANNA")
    bo = site.agent()
    await bo.sign_in("bo@kommune.dk")
    token = site.token("bo@kommune.dk")
    headers = {"Authorization": f"Bearer {token}"}

    page_status = [(await bo.get(f"/cases/{annas}{tail}"))[0]
                   for tail in ("", "/graph.png", "/export.pdf", "/export.csv")]
    post_status = (await bo.post(f"/cases/{annas}/goals", {"goal1": "x"}))[0]
    async with bo.http.get(f"/api/v1/cases/{annas}", headers=headers) as resp:
        api_status, api_body = resp.status, await resp.json()
    async with bo.http.get(f"/api/v1/cases/{annas}/export/pdf", headers=headers) as resp:
        export_status = resp.status
    listing = (await bo.get("/"))[1]

    assert page_status == [404, 404, 404, 404]
    assert post_status == 404
    assert (api_status, api_body["error"]) == (404, "not_found")
    assert export_status == 404
    assert "K-ANNA" not in listing
    assert site.audit("export.pdf") == []


async def test_an_admin_sees_every_case(site: Site) -> None:
    site.user("anna@kommune.dk")
    site.user("admin@kommune.dk", role="admin")
    annas = site.case("anna@kommune.dk", ref="K-ANNA")
    admin = site.agent()
    await admin.sign_in("admin@kommune.dk")

    listing = (await admin.get("/"))[1]
    status, _ = await admin.get(f"/cases/{annas}")

    assert "K-ANNA" in listing and status == 200


async def test_a_form_posted_without_its_csrf_token_is_refused(site: Site) -> None:
    site.user("anna@kommune.dk")
    case_id = site.case("anna@kommune.dk")
    anna = site.agent()
    await anna.sign_in("anna@kommune.dk")

    without, _, _ = await anna.post(f"/cases/{case_id}/goals", {"goal1": "Sove bedre"},
                                    csrf=False)
    forged, _, _ = await anna.post(f"/cases/{case_id}/goals",
                                   {"goal1": "Sove bedre", "_csrf": "f" * 64}, csrf=False)
    with_token, _, _ = await anna.post(f"/cases/{case_id}/goals", {"goal1": "Sove bedre"})

    assert (without, forged, with_token) == (403, 403, 303)
    assert len(site.audit("case.goals")) == 1


async def test_the_sign_in_form_needs_its_csrf_token_too(site: Site) -> None:
    site.user("anna@kommune.dk")
    anna = site.agent()
    await anna.get("/login")

    status, _, _ = await anna.post("/login", {"email": "anna@kommune.dk",
                                              "password": PASSWORD}, csrf=False)

    assert status == 403 and anna.cookie("stemme_session") is None


async def test_an_unknown_email_and_a_wrong_password_get_the_same_answer(site: Site) -> None:
    site.user("anna@kommune.dk")
    agent = site.agent()

    unknown, _ = await agent.sign_in("nobody@kommune.dk", PASSWORD)
    body_unknown = (await agent.get("/login"))[1]
    wrong, _ = await agent.sign_in("anna@kommune.dk", "not the password")

    assert unknown == wrong == 401
    assert "nobody" not in body_unknown


async def test_the_idle_timeout_signs_out(site: Site) -> None:
    site.user("anna@kommune.dk")
    anna = site.agent()
    await anna.sign_in("anna@kommune.dk")

    site.clock.advance(minutes=29)
    active, _ = await anna.get("/")
    site.clock.advance(minutes=29)  # 29 minutes after the last request: still fine
    still, _ = await anna.get("/")
    site.clock.advance(minutes=30)
    idle, _ = await anna.get("/")
    location = anna.last.headers["Location"] if anna.last else ""

    assert (active, still, idle) == (200, 200, 303)
    assert location.startswith("/login")
    ended = site.rows(WebSession)
    assert [s.end_reason for s in ended] == ["idle"]


async def test_twelve_hours_after_sign_in_the_session_ends_however_active(site: Site) -> None:
    site.user("anna@kommune.dk")
    anna = site.agent()
    await anna.sign_in("anna@kommune.dk")

    statuses = []
    for _ in range(25):  # a request every 29 minutes for 12 h 5 min
        site.clock.advance(minutes=29)
        statuses.append((await anna.get("/"))[0])

    assert statuses[:24] == [200] * 24 and statuses[24] == 303
    assert site.rows(WebSession)[0].end_reason == "absolute"


async def test_signing_out_ends_the_session_on_the_server(site: Site) -> None:
    site.user("anna@kommune.dk")
    anna = site.agent()
    await anna.sign_in("anna@kommune.dk")
    stolen = anna.cookie("stemme_session")

    status, _, location = await anna.post("/logout")
    thief = site.agent()
    thief.http.cookie_jar.update_cookies({"stemme_session": stolen or ""})
    replay, _ = await thief.get("/")

    assert (status, location) == (303, "/login?done=signed_out")
    assert replay == 303
    assert site.rows(WebSession)[0].end_reason == "logout"


async def test_the_session_cookie_is_httponly_and_samesite_strict(site: Site) -> None:
    site.user("anna@kommune.dk")
    anna = site.agent()
    await anna.get("/login")

    await anna.post("/login", {"email": "anna@kommune.dk", "password": PASSWORD})
    header = anna.last.headers.getall("Set-Cookie") if anna.last else []

    session_cookie = next(h for h in header if h.startswith("stemme_session="))
    assert "HttpOnly" in session_cookie and "SameSite=Strict" in session_cookie
    assert "Secure" not in session_cookie  # served over http here
    stored = site.rows(WebSession)[0]
    assert stored.token_hash != anna.cookie("stemme_session")
    assert stored.token_hash == accounts.digest(anna.cookie("stemme_session") or "")


async def test_the_api_answers_401_without_a_valid_token(site: Site) -> None:
    site.user("anna@kommune.dk")
    token = site.token("anna@kommune.dk")
    agent = site.agent()

    async with agent.http.get("/api/v1/cases") as resp:
        missing = (resp.status, (await resp.json())["error"], resp.headers["WWW-Authenticate"])
    async with agent.http.get("/api/v1/cases",
                              headers={"Authorization": f"Bearer {token}x"}) as resp:
        wrong = resp.status
    async with agent.http.get("/api/v1/cases",
                              headers={"Authorization": f"Bearer {token}"}) as resp:
        right = resp.status

    assert missing == (401, "unauthorized", 'Bearer realm="stemme"')
    assert (wrong, right) == (401, 200)


async def test_a_deactivated_user_loses_sessions_and_tokens(site: Site) -> None:
    site.user("admin@kommune.dk", role="admin")
    anna_id = site.user("anna@kommune.dk")
    token = site.token("anna@kommune.dk")
    anna, admin = site.agent(), site.agent()
    await anna.sign_in("anna@kommune.dk")
    await admin.sign_in("admin@kommune.dk")
    await admin.get("/users")

    status, _, _ = await admin.post(f"/users/{anna_id}/deactivate")
    page, _ = await anna.get("/")
    async with anna.http.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}) as r:
        api = r.status

    assert (status, page, api) == (303, 303, 401)


async def test_caseworkers_cannot_open_the_users_page(site: Site) -> None:
    site.user("anna@kommune.dk")
    anna = site.agent()
    await anna.sign_in("anna@kommune.dk")

    status, _ = await anna.get("/users")

    assert status == 404


async def test_cookies_are_secure_behind_https(tmp_path: Path) -> None:
    site = await start_site(tmp_path, public_url="https://stemme.example.org")
    try:
        site.user("anna@kommune.dk")
        anna = site.agent()
        await anna.get("/login")
        # The client keeps Secure cookies for https only; a TLS proxy would pass them on.
        async with anna.http.post("/login", allow_redirects=False, headers={
                "Cookie": f"stemme_pre={anna.csrf}"}, data={
                "email": "anna@kommune.dk", "password": PASSWORD, "_csrf": anna.csrf}) as resp:
            header = resp.headers.getall("Set-Cookie")
    finally:
        await stop_site(site)

    session_cookie = next(h for h in header if h.startswith("stemme_session="))
    assert "Secure" in session_cookie and "HttpOnly" in session_cookie
