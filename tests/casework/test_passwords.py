"""Passwords: changing one's own, an admin's one-time reset link, and reactivating a user."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from casework.errors import Invalid
from casework.passwords import change_password, make_reset_link, reset_password
from casework.tokens import create_api_token, digest
from casework.users import deactivate_user, reactivate_user
from storage.models import ApiToken, User, WebSession
from storage.passwords import verify_password
from storage.repo.credentials import set_password
from storage.repo.errors import Conflict
from tests.casework.conftest import NOW, PUBLIC_URL, WORKER, World

OLD = "correct horse battery"
NEW = "a brand new long password"


def signed_in(world: World, user: User, token: str) -> WebSession:
    """A live web session of `user` whose cookie is `token`."""
    row = WebSession(token_hash=digest(token), user_id=user.id, created_at=NOW,
                     last_seen_at=NOW, expires_at=NOW + timedelta(hours=12))
    world.session.add(row)
    world.session.flush()
    return row


def with_password(world: World) -> User:
    set_password(world.session, world.worker, OLD)
    return world.worker


def token_of(url: str) -> str:
    return url.rsplit("/", 1)[1]


def test_changing_my_password_ends_my_other_sessions_and_is_audited(world: World) -> None:
    me = with_password(world)
    here, elsewhere = signed_in(world, me, "here"), signed_in(world, me, "elsewhere")

    ended = change_password(world.session, me, current=OLD, new=NEW, repeat=NEW,
                            keep_session="here", now=NOW)

    assert ended == 1
    assert verify_password(me.password_hash, NEW) and not verify_password(me.password_hash, OLD)
    world.session.refresh(here)
    world.session.refresh(elsewhere)
    assert here.ended_at is None
    assert (elsewhere.ended_at, elsewhere.end_reason) == (NOW, "password")
    (entry,) = world.audit("user.password_change")
    assert (entry.actor, entry.detail) == (WORKER, "sessions_ended=1")


@pytest.mark.parametrize("current,new,repeat,code", [
    ("not my password", NEW, NEW, "current_password"),
    (OLD, "short", "short", "password"),
    (OLD, NEW, NEW + "!", "password_repeat"),
])
def test_a_password_change_that_cannot_be_made_changes_nothing(
    world: World, current: str, new: str, repeat: str, code: str
) -> None:
    me = with_password(world)
    before = me.password_hash

    with pytest.raises(Invalid) as refused:
        change_password(world.session, me, current=current, new=new, repeat=repeat,
                        keep_session=None, now=NOW)

    assert refused.value.code == code
    assert me.password_hash == before
    assert world.audit("user.password_change") == []


def test_a_reset_link_sets_a_new_password_once(world: World) -> None:
    me = with_password(world)
    signed_in(world, me, "a browser")
    link = make_reset_link(world.session, me, actor="admin@kommune.dk",
                           public_url=PUBLIC_URL, now=NOW)

    reset_password(world.session, token_of(link.url), new=NEW, repeat=NEW,
                   now=NOW + timedelta(hours=1))
    with pytest.raises(Invalid) as again:
        reset_password(world.session, token_of(link.url), new="yet another long one",
                       repeat=None, now=NOW + timedelta(hours=2))

    assert link.url.startswith(PUBLIC_URL + "/account/reset/")
    assert link.expires_at == NOW + timedelta(hours=24)
    assert again.value.code == "reset_link"
    assert verify_password(me.password_hash, NEW) and not verify_password(me.password_hash, OLD)
    sessions = world.session.exec(select(WebSession).where(
        WebSession.user_id == me.id, WebSession.token_hash == digest("a browser"))).all()
    assert [s.end_reason for s in sessions] == ["password"]
    assert [e.actor for e in world.audit("user.password_reset_link")] == ["admin@kommune.dk"]
    assert [e.actor for e in world.audit("user.password_reset")] == [WORKER]


def test_a_reset_link_is_stored_only_as_a_hash_and_never_opens_a_session(world: World) -> None:
    link = make_reset_link(world.session, world.worker, actor="admin@kommune.dk",
                           public_url=PUBLIC_URL, now=NOW)
    token = token_of(link.url)

    rows = world.session.exec(select(WebSession)).all()

    assert len(rows) == 1 and token not in rows[0].token_hash
    assert rows[0].token_hash not in (token, digest(token))
    assert rows[0].ended_at is not None  # born ended: no cookie can use it


def test_an_expired_replaced_or_wrong_link_gets_the_same_answer(world: World) -> None:
    me = with_password(world)
    expired = make_reset_link(world.session, me, actor="a", public_url=PUBLIC_URL, now=NOW)
    later = NOW + timedelta(hours=25)
    replaced = make_reset_link(world.session, me, actor="a", public_url=PUBLIC_URL, now=later)
    make_reset_link(world.session, me, actor="a", public_url=PUBLIC_URL, now=later)

    codes = []
    for token in (token_of(expired.url), token_of(replaced.url), "not-a-link", ""):
        with pytest.raises(Invalid) as refused:
            reset_password(world.session, token, new=NEW, repeat=NEW, now=later)
        codes.append(refused.value.code)

    assert codes == ["reset_link"] * 4
    assert verify_password(me.password_hash, OLD)


def test_a_weak_password_leaves_the_link_usable(world: World) -> None:
    link = make_reset_link(world.session, world.worker, actor="a", public_url=PUBLIC_URL,
                           now=NOW)

    with pytest.raises(Invalid) as weak:
        reset_password(world.session, token_of(link.url), new="short", repeat="short", now=NOW)
    user = reset_password(world.session, token_of(link.url), new=NEW, repeat=NEW, now=NOW)

    assert weak.value.code == "password"
    assert verify_password(user.password_hash, NEW)  # a user added without one now has one


def test_a_deactivated_user_gets_no_link_and_their_old_link_dies(world: World) -> None:
    bo = world.user("bo@kommune.dk")
    link = make_reset_link(world.session, bo, actor="a", public_url=PUBLIC_URL, now=NOW)
    deactivate_user(world.session, bo, actor="a", handover_to=None, now=NOW)

    with pytest.raises(Conflict):
        make_reset_link(world.session, bo, actor="a", public_url=PUBLIC_URL, now=NOW)
    with pytest.raises(Invalid) as dead:
        reset_password(world.session, token_of(link.url), new=NEW, repeat=NEW, now=NOW)

    assert dead.value.code == "reset_link"


def test_a_reactivated_user_is_active_but_their_old_tokens_stay_revoked(world: World) -> None:
    bo = world.user("bo@kommune.dk")
    old_token, _ = create_api_token(world.session, bo, name="cms", created_by="a", now=NOW)
    deactivate_user(world.session, bo, actor="a", handover_to=None, now=NOW)

    reactivate_user(world.session, bo, actor="admin@kommune.dk", now=NOW + timedelta(days=1))

    assert bo.active
    assert world.session.get(ApiToken, old_token.id).revoked_at == NOW  # type: ignore[union-attr]
    (entry,) = world.audit("user.reactivate")
    assert (entry.actor, entry.target) == ("admin@kommune.dk", f"user:{bo.id}")
    with pytest.raises(Conflict):
        reactivate_user(world.session, bo, actor="a", now=NOW)


def test_a_deactivated_user_gets_no_api_token(world: World) -> None:
    bo = world.user("bo@kommune.dk")
    deactivate_user(world.session, bo, actor="a", handover_to=None, now=NOW)

    with pytest.raises(Conflict):
        create_api_token(world.session, bo, name="cms", created_by="a", now=NOW)
