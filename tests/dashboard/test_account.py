"""My password on the dashboard, an admin's one-time reset link, and reactivating a user."""

from __future__ import annotations

import re

from storage.models import User
from tests.dashboard.harness import PASSWORD, Site, user_id

NEW = "a brand new long password"
RESET = re.compile(r'class="token">(http://[^<]+/account/reset/[^<]+)<')


async def test_changing_my_password_signs_me_out_elsewhere(site: Site) -> None:
    site.user("anna@kommune.dk")
    here, elsewhere = site.agent(), site.agent()
    await here.sign_in("anna@kommune.dk")
    await elsewhere.sign_in("anna@kommune.dk")
    await here.get("/account/password")

    status, _, location = await here.post("/account/password", {
        "current": PASSWORD, "new": NEW, "repeat": NEW})
    still_here, _ = await here.get("/")
    gone, _ = await elsewhere.get("/")
    old_password, _ = await site.agent().sign_in("anna@kommune.dk", PASSWORD)
    new_password, _ = await site.agent().sign_in("anna@kommune.dk", NEW)

    assert (status, location) == (303, "/account/password?done=password_changed")
    assert (still_here, gone) == (200, 303)
    assert (old_password, new_password) == (401, 303)
    assert len(site.audit("user.password_change")) == 1


async def test_a_wrong_current_password_or_a_typo_changes_nothing(site: Site) -> None:
    site.user("anna@kommune.dk")
    anna = site.agent()
    await anna.sign_in("anna@kommune.dk")
    await anna.get("/account/password")

    wrong, wrong_page, _ = await anna.post("/account/password", {
        "current": "not my password", "new": NEW, "repeat": NEW})
    typo, typo_page, _ = await anna.post("/account/password", {
        "current": PASSWORD, "new": NEW, "repeat": NEW + "x"})
    no_csrf, _, _ = await anna.post("/account/password", {
        "current": PASSWORD, "new": NEW, "repeat": NEW}, csrf=False)

    assert (wrong, typo, no_csrf) == (400, 400, 403)
    assert "Den nuværende adgangskode er forkert." in wrong_page
    assert "De to nye adgangskoder er ikke ens." in typo_page
    assert (await site.agent().sign_in("anna@kommune.dk", PASSWORD))[0] == 303


async def test_guessing_the_current_password_is_slowed_down(site: Site) -> None:
    site.user("anna@kommune.dk")
    anna = site.agent()
    await anna.sign_in("anna@kommune.dk")
    await anna.get("/account/password")

    statuses = [(await anna.post("/account/password", {
        "current": f"guess number {n}", "new": NEW, "repeat": NEW}))[0] for n in range(7)]
    site.clock.advance(minutes=5)
    later, _, _ = await anna.post("/account/password", {
        "current": PASSWORD, "new": NEW, "repeat": NEW})

    assert statuses == [400] * 6 + [429]
    assert later == 303


async def test_an_admins_reset_link_works_once(site: Site) -> None:
    site.user("admin@kommune.dk", role="admin")
    site.user("bo@kommune.dk")
    admin, bo, reader = site.agent(), site.agent(), site.agent()
    await admin.sign_in("admin@kommune.dk")
    await bo.sign_in("bo@kommune.dk")  # signed in somewhere with the forgotten password
    await admin.get("/users")

    _, users_page, _ = await admin.post(f"/users/{user_id(site, 'bo@kommune.dk')}/reset")
    link = RESET.search(users_page)
    assert link is not None
    path = link[1].removeprefix(site.base)
    form_status, form_page = await reader.get(path)
    status, _, location = await reader.post(path, {"new": NEW, "repeat": NEW})
    again_get, again_page = await reader.get(path)
    again_post, _, _ = await reader.post(path, {"new": NEW, "repeat": NEW})
    wrong, wrong_page = await reader.get("/account/reset/not-a-link")

    assert form_status == 200 and "bo@kommune.dk" in form_page
    assert (status, location) == (303, "/login?done=password_reset")
    assert (again_get, again_post, wrong) == (404, 404, 404)
    assert "Linket er forkert, allerede brugt eller udløbet." in again_page
    assert again_page.replace(path, "") == wrong_page.replace("/account/reset/not-a-link", "")
    assert (await bo.get("/"))[0] == 303  # the old session ended
    assert (await site.agent().sign_in("bo@kommune.dk", PASSWORD))[0] == 401
    assert (await site.agent().sign_in("bo@kommune.dk", NEW))[0] == 303
    assert [e.actor for e in site.audit("user.password_reset_link")] == ["admin@kommune.dk"]
    assert len(site.audit("user.password_reset")) == 1


async def test_an_expired_reset_link_gets_the_same_answer_as_a_wrong_one(site: Site) -> None:
    site.user("admin@kommune.dk", role="admin")
    site.user("bo@kommune.dk")
    admin, reader = site.agent(), site.agent()
    await admin.sign_in("admin@kommune.dk")
    await admin.get("/users")
    _, users_page, _ = await admin.post(f"/users/{user_id(site, 'bo@kommune.dk')}/reset")
    link = RESET.search(users_page)
    assert link is not None
    path = link[1].removeprefix(site.base)
    await reader.get(path)  # the form, with its CSRF token

    site.clock.advance(hours=24, seconds=1)
    opened, opened_page = await reader.get(path)
    posted, posted_page, _ = await reader.post(path, {"new": NEW, "repeat": NEW})

    assert (opened, posted) == (404, 404)
    assert "Linket virker ikke" in opened_page and "Linket virker ikke" in posted_page
    assert (await site.agent().sign_in("bo@kommune.dk", PASSWORD))[0] == 303


async def test_only_an_admin_makes_reset_links(site: Site) -> None:
    site.user("anna@kommune.dk")
    site.user("bo@kommune.dk")
    anna = site.agent()
    await anna.sign_in("anna@kommune.dk")

    status, _, _ = await anna.post(f"/users/{user_id(site, 'bo@kommune.dk')}/reset")

    assert status == 404
    assert site.audit("user.password_reset_link") == []


async def test_an_admin_reactivates_a_user_who_then_signs_in_again(site: Site) -> None:
    site.user("admin@kommune.dk", role="admin")
    site.user("bo@kommune.dk")
    bo_id = user_id(site, "bo@kommune.dk")
    old_token = site.token("bo@kommune.dk")
    admin, bo = site.agent(), site.agent()
    await admin.sign_in("admin@kommune.dk")
    await bo.sign_in("bo@kommune.dk")
    await admin.get("/users")
    await admin.post(f"/users/{bo_id}/deactivate", {"handover_to": ""})

    _, users_page = await admin.get("/users")
    status, _, location = await admin.post(f"/users/{bo_id}/reactivate")
    old_session, _ = await bo.get("/")
    signed_in, _ = await site.agent().sign_in("bo@kommune.dk")
    async with site.agent().http.get(
            "/api/v1/me", headers={"Authorization": f"Bearer {old_token}"}) as resp:
        old_token_status = resp.status

    assert f'action="/users/{bo_id}/reactivate"' in users_page
    assert (status, location) == (303, "/users?done=user_reactivated")
    assert site.get(User, bo_id).active
    assert (old_session, signed_in, old_token_status) == (303, 303, 401)
    assert [e.actor for e in site.audit("user.reactivate")] == ["admin@kommune.dk"]
