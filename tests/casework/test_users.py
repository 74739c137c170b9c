"""Adding a dashboard user: a real address, a known role, once, and a long enough password."""

from __future__ import annotations

import pytest

from casework.errors import Invalid
from casework.users import add_user
from tests.casework.conftest import NOW, WORKER, World


def test_a_user_is_added_lower_case_and_audited(world: World) -> None:
    user = add_user(world.session, actor="cli:anna", email=" Bo@Kommune.DK ", role="admin",
                    password="correct horse battery", now=NOW)

    assert (user.email, user.role, user.password_hash is not None) == (
        "bo@kommune.dk", "admin", True)
    (entry,) = world.audit("user.add")
    assert (entry.actor, entry.detail) == ("cli:anna", "role=admin")


def test_a_user_without_a_password_is_added_to_be_given_one_later(world: World) -> None:
    user = add_user(world.session, actor=WORKER, email="bo@kommune.dk", role="caseworker",
                    password=None, now=NOW)

    assert user.password_hash is None


@pytest.mark.parametrize("email,role,password,code", [
    ("bo", "caseworker", None, "email"),
    ("bo@kommune.dk", "boss", None, "user_role"),
    (WORKER, "caseworker", None, "user_exists"),
    ("bo@kommune.dk", "caseworker", "short", "password"),
    ("bo@kommune.dk", "caseworker", "", "password"),  # empty is weak, not "no password"
])
def test_a_user_that_cannot_be_added_is_refused(
    world: World, email: str, role: str, password: str | None, code: str
) -> None:
    with pytest.raises(Invalid) as refused:
        add_user(world.session, actor=WORKER, email=email, role=role, password=password,
                 now=NOW)

    assert refused.value.code == code
    assert world.audit("user.add") == []
