"""Dashboard pages without a browser: what each form changes, and what gets audited."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

from sqlmodel import Session

from consent.agreements import state
from dashboard.i18n import LANGUAGES, catalogue
from storage.models import (
    Consent,
    Conversation,
    DuePrompt,
    Goal,
    Invite,
    Meeting,
    OutboxMessage,
    Participant,
)
from storage.repo.cases import goal_texts
from tests.dashboard.harness import Agent, Site

TEMPLATES = Path(__file__).resolve().parents[2] / "dashboard" / "templates"


async def signed_in_with_case(site: Site, born: date = date(2014, 5, 31)
                              ) -> tuple[Agent, str]:
    site.user("anna@kommune.dk")
    case_id = site.case("anna@kommune.dk", born=born)
    anna = site.agent()
    await anna.sign_in("anna@kommune.dk")
    await anna.get(f"/cases/{case_id}")
    return anna, case_id


async def test_a_web_chat_child_gets_a_qr_code_whose_link_opens_their_chat(site: Site) -> None:
    anna, case_id = await signed_in_with_case(site)

    status, html, _ = await anna.post(f"/cases/{case_id}/participants", {
        "role": "child", "channel": "webchat", "language": "da", "guardian": "1"})
    link = re.search(r'id="invite-link"[^>]*value="([^"]+)"', html)
    assert status == 200 and link is not None and '<svg width=' in html and 'class="qr"' in html
    chat_status, chat = await anna.get(link[1].removeprefix(site.base))

    assert chat_status == 200 and 'name="text"' in chat  # the participant's own chat page
    invite = site.rows(Invite)[0]
    assert invite.expires_at - site.clock() > timedelta(days=364)
    assert link[1].split("/chat/")[1] not in invite.token_hash  # stored hashed only


async def test_a_telegram_invite_is_a_deep_link_valid_for_14_days(site: Site) -> None:
    anna, case_id = await signed_in_with_case(site)

    _, html, _ = await anna.post(f"/cases/{case_id}/participants", {
        "role": "child", "channel": "telegram", "language": "da"})

    assert re.search(r'value="https://t\.me/stemme_test_bot\?start=[A-Za-z0-9_-]{32}"', html)
    invite = site.rows(Invite)[0]
    assert timedelta(days=13) < invite.expires_at - site.clock() <= timedelta(days=14)


async def test_an_sms_parent_needs_a_valid_phone_number(site: Site) -> None:
    anna, case_id = await signed_in_with_case(site)

    _, _, missing = await anna.post(f"/cases/{case_id}/participants",
                                    {"role": "parent", "channel": "sms"})
    _, _, wrong = await anna.post(f"/cases/{case_id}/participants",
                                  {"role": "parent", "channel": "sms", "phone": "12"})
    _, _, right = await anna.post(f"/cases/{case_id}/participants",
                                  {"role": "parent", "channel": "sms", "phone": "20304050"})
    _, page = await anna.get(right or "")

    assert missing and "error=error.phone_needed" in missing
    assert wrong and "error=error.phone" in wrong
    assert right and "done=participant_added" in right
    assert "Deltageren er tilføjet" in page and "20304050" not in page


async def test_a_custody_holders_yes_is_recorded_for_a_child_under_15_only(
    site: Site,
) -> None:
    anna, case_id = await signed_in_with_case(site)
    await anna.post(f"/cases/{case_id}/participants", {"role": "child", "channel": "webchat"})
    child = site.rows(Participant, case_id=case_id)[0]
    older = site.case("anna@kommune.dk", ref="K-2", born=date(2009, 1, 1))
    await anna.post(f"/cases/{older}/participants", {"role": "child", "channel": "webchat"})
    teen = site.rows(Participant, case_id=older)[0]

    _, _, young = await anna.post(f"/cases/{case_id}/participants/{child.id}/guardian")
    _, _, fifteen = await anna.post(f"/cases/{older}/participants/{teen.id}/guardian")

    assert young and "done=guardian" in young
    assert fifteen and "error=error.guardian_age" in fifteen
    with Session(site.rt.engine) as session:
        assert state(session, child.id, "webchat").guardian_agreed
        assert not state(session, teen.id, "webchat").guardian_agreed
    [given] = site.rows(Consent, participant_id=child.id)
    assert (given.given_by, given.recorded_by) == ("guardian", "anna@kommune.dk")


async def test_withdrawing_on_the_dashboard_stops_all_contact(site: Site) -> None:
    anna, case_id = await signed_in_with_case(site)
    await anna.post(f"/cases/{case_id}/participants", {"role": "child", "channel": "webchat",
                                                       "guardian": "1"})
    child = site.rows(Participant, case_id=case_id)[0]
    await anna.post(f"/cases/{case_id}/participants/{child.id}/ask")

    _, _, location = await anna.post(f"/cases/{case_id}/participants/{child.id}/withdraw")
    _, _, ask_again = await anna.post(f"/cases/{case_id}/participants/{child.id}/ask")

    assert location and "done=withdrawn" in location
    assert ask_again and "error=error.cannot_ask" in ask_again
    assert site.get(Participant, child.id).status == "withdrawn"
    # The survey the ask started at once is stopped, and its first question never goes.
    assert [c.status for c in site.rows(Conversation, participant_id=child.id)] == ["stopped"]
    assert {m.status for m in site.rows(OutboxMessage, participant_id=child.id)} == \
        {"cancelled"}
    [entry] = site.audit("consent.withdraw")
    assert entry.actor == "anna@kommune.dk"


async def test_ask_now_starts_an_adhoc_survey_at_once_and_not_twice(site: Site) -> None:
    anna, case_id = await signed_in_with_case(site)
    await anna.post(f"/cases/{case_id}/participants", {"role": "parent", "channel": "webchat"})
    parent = site.rows(Participant, case_id=case_id)[0]

    _, _, first = await anna.post(f"/cases/{case_id}/participants/{parent.id}/ask")
    _, _, again = await anna.post(f"/cases/{case_id}/participants/{parent.id}/ask")

    assert first and "done=asked_now" in first
    assert again and "error=error.already_asked" in again
    [prompt] = site.rows(DuePrompt, participant_id=parent.id)
    assert (prompt.kind, prompt.status) == ("adhoc", "sent")
    assert prompt.dedupe_key.startswith("adhoc:") and prompt.due_at == site.clock()
    [survey] = site.rows(Conversation, participant_id=parent.id)
    assert (survey.id, survey.status) == (prompt.conversation_id, "active")


async def test_goals_and_cadence_are_saved_and_a_bad_cadence_is_explained(site: Site) -> None:
    anna, case_id = await signed_in_with_case(site)

    await anna.post(f"/cases/{case_id}/goals", {"goal1": "Sove bedre", "goal2": "",
                                                "goal3": "Have en ven"})
    await anna.post(f"/cases/{case_id}/cadence", {"cadence": "haderslev",
                                                  "cadence_override": "First 4W, every 6w"})
    _, _, bad = await anna.post(f"/cases/{case_id}/cadence", {"cadence": "haderslev",
                                                              "cadence_override": "sometimes"})
    _, page = await anna.get(bad or "")

    with Session(site.rt.engine) as session:
        assert [text for _, text in goal_texts(session, site.rt.vault, case_id)] == [
            "Sove bedre", "Have en ven"]
    case = site.rows(Goal, case_id=case_id)[0]
    assert case is not None
    from storage.models import Case

    stored = site.get(Case, case_id)
    assert (stored.cadence, stored.cadence_override) == ("haderslev", "first 4w, every 6w")
    assert "Rytmen kan ikke læses" in page


async def test_a_weekly_series_keeps_its_local_time_and_can_be_cancelled(site: Site) -> None:
    anna, case_id = await signed_in_with_case(site)
    first = (site.clock() + timedelta(days=2)).astimezone(site.rt.settings.zone).date()

    _, _, added = await anna.post(f"/cases/{case_id}/sessions", {
        "date": first.isoformat(), "time": "15:00", "minutes": "60", "every": "1w",
        "until": (first + timedelta(weeks=3)).isoformat()})
    meetings = sorted(site.rows(Meeting, case_id=case_id), key=lambda m: m.starts_at)
    _, _, cancelled = await anna.post(f"/cases/{case_id}/sessions/{meetings[1].id}/cancel",
                                      {"series": "1"})

    assert added and "done=session_added" in added
    local = [m.starts_at.astimezone(site.rt.settings.zone) for m in meetings]
    assert [(t.hour, t.minute) for t in local] == [(15, 0)] * 4
    assert cancelled and "done=session_cancelled" in cancelled
    after = {m.id: m.cancelled_at for m in site.rows(Meeting, case_id=case_id)}
    assert [after[m.id] is not None for m in meetings] == [False, True, True, True]


async def test_every_view_of_a_case_and_every_export_is_audited(site: Site) -> None:
    anna, case_id = await signed_in_with_case(site)  # opened the case page once

    async with anna.http.get(f"/cases/{case_id}/export.csv") as resp:
        disposition = resp.headers["Content-Disposition"]
        body = await resp.text()
    await anna.get(f"/cases/{case_id}")

    assert [(e.actor, e.target) for e in site.audit("case.view")] == [
        ("anna@kommune.dk", f"case:{case_id}")] * 2
    assert [e.target for e in site.audit("export.csv")] == [f"case:{case_id}"]
    assert disposition.startswith('attachment; filename="stemme-K-1-')
    assert body.startswith("answered_at,")


async def test_the_dashboard_speaks_english_on_request(site: Site) -> None:
    site.user("anna@kommune.dk")
    anna = site.agent()
    await anna.sign_in("anna@kommune.dk")

    status, _ = await anna.get("/language?to=en&next=/")
    _, page = await anna.get("/")

    assert status == 303 and "My cases" in page and 'lang="en"' in page


async def test_pages_carry_headers_that_keep_case_data_private(site: Site) -> None:
    anna, case_id = await signed_in_with_case(site)

    await anna.get(f"/cases/{case_id}")
    headers = anna.last.headers if anna.last else {}

    assert headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"


async def test_an_admin_adds_a_user_and_gives_them_an_api_token(site: Site) -> None:
    site.user("admin@kommune.dk", role="admin")
    admin = site.agent()
    await admin.sign_in("admin@kommune.dk")
    await admin.get("/users")

    status, _, _ = await admin.post("/users", {"email": "Ny@Kommune.dk", "role": "caseworker",
                                               "password": "long enough password"})
    weak, weak_page, _ = await admin.post("/users", {"email": "b@kommune.dk",
                                                     "role": "caseworker", "password": "short"})
    from tests.dashboard.harness import user_id

    new_id = user_id(site, "ny@kommune.dk")
    _, page, _ = await admin.post(f"/users/{new_id}/tokens", {"name": "Sagssystem"})
    token = re.search(r'class="token">(stm_[^<]+)<', page)
    assert token is not None
    async with admin.http.get("/api/v1/me",
                              headers={"Authorization": f"Bearer {token[1]}"}) as resp:
        me = await resp.json()

    assert status == 303 and weak == 400 and "mindst 12 tegn" in weak_page
    assert me["email"] == "ny@kommune.dk"


async def test_my_tokens_page_creates_and_revokes_a_token(site: Site) -> None:
    site.user("anna@kommune.dk")
    anna = site.agent()
    await anna.sign_in("anna@kommune.dk")
    await anna.get("/tokens")

    _, page, _ = await anna.post("/tokens", {"name": "Sagssystem"})
    token = re.search(r'class="token">(stm_[^<]+)<', page)
    token_id = re.search(r'action="/tokens/([0-9a-f]+)/revoke"', page)
    assert token is not None and token_id is not None
    await anna.post(f"/tokens/{token_id[1]}/revoke")
    async with anna.http.get("/api/v1/me",
                             headers={"Authorization": f"Bearer {token[1]}"}) as resp:
        after = resp.status

    assert after == 401


async def test_the_digest_preview_is_this_weeks_email(site: Site) -> None:
    anna, _ = await signed_in_with_case(site)

    status, page = await anna.get("/digest/mail")
    headers = anna.last.headers if anna.last else {}

    assert status == 200 and "Ugeoversigt" in page and "K-1" in page
    assert "frame-ancestors 'self'" in headers["Content-Security-Policy"]


def test_every_text_key_is_in_both_catalogues() -> None:
    used: set[str] = set()
    for template in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r"""_\(['"]([a-z_]+\.[a-z_0-9]+)['"]\s*[,)]""",
                               template.read_text()))
    used |= {f"role.{r}" for r in ("child", "parent", "foster_parent", "teacher", "pedagogue",
                                   "other")}
    used |= {f"channel.{c}" for c in ("telegram", "sms", "webchat")}
    used |= {f"kind.{k}" for k in ("outcome", "session", "goal")}
    used |= {f"item.{i}" for i in ("me", "family", "school", "overall", "heard", "topics",
                                   "approach")}
    source = "".join(p.read_text() for p in TEMPLATES.parent.glob("*.py"))
    used |= {k for k in re.findall(r'"(error\.[a-z_]+)"', source) if k != "error.html"}
    used |= {"users.role_caseworker", "users.role_admin"}
    used |= {f"done.{d}" for d in re.findall(r'done="?([a-z_]+)', source) if d != "done"}

    missing = {lang: sorted(used - set(catalogue(lang))) for lang in LANGUAGES}

    assert missing == {"da": [], "en": []}
