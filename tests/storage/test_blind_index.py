"""Finding a participant by phone or chat id without storing either in the clear."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlmodel import Session

from storage.blind_index import BlindIndex, InvalidPhoneNumber, normalise_phone
from storage.keys import KeyRing
from storage.repo.cases import link_chat, participants_by_chat, participants_by_phone
from storage.vault import Vault
from tests.storage.helpers import make_case, make_parent


@pytest.mark.parametrize("spelling", ["+45 12 34 56 78", "12345678", "0045 12345678",
                                      "+4512345678", " 12 34 56 78 ", "+45-12-34-56-78"])
def test_any_common_spelling_of_a_number_finds_the_participant(
    engine: Engine, vault: Vault, index: BlindIndex, spelling: str
) -> None:
    with Session(engine, expire_on_commit=False) as session:
        case = make_case(session, vault)
        parent = make_parent(session, vault, index, case, phone="+45 12 34 56 78")
        session.commit()
        found = participants_by_phone(session, index, spelling)
    assert [p.id for p in found] == [parent.id]


def test_another_number_finds_nobody(engine: Engine, vault: Vault, index: BlindIndex) -> None:
    with Session(engine, expire_on_commit=False) as session:
        make_parent(session, vault, index, make_case(session, vault))
        session.commit()
        assert participants_by_phone(session, index, "+45 87 65 43 21") == []


def test_a_telegram_chat_id_finds_the_linked_participant(
    engine: Engine, vault: Vault, index: BlindIndex
) -> None:
    with Session(engine, expire_on_commit=False) as session:
        parent = make_parent(session, vault, index, make_case(session, vault))
        link_chat(session, vault, index, parent, 111222333)
        session.commit()
        assert [p.id for p in participants_by_chat(session, index, "111222333")] == [parent.id]
        assert participants_by_chat(session, index, 999) == []


def test_the_index_depends_on_the_installation_key(tmp_path) -> None:
    one = BlindIndex(KeyRing.load(tmp_path / "a.json"))
    two = BlindIndex(KeyRing.load(tmp_path / "b.json"))
    assert one.phone("12345678") != two.phone("12345678")
    assert "12345678" not in one.phone("12345678")


def test_numbers_are_normalised_to_e164_with_denmark_as_default() -> None:
    assert normalise_phone("12 34 56 78") == "+4512345678"
    assert normalise_phone("+46 70 123 45 67") == "+46701234567"


@pytest.mark.parametrize("bad", ["hello", "123", "+45 1234"])
def test_an_unreadable_number_is_refused_with_a_hint(bad: str) -> None:
    with pytest.raises(InvalidPhoneNumber):
        normalise_phone(bad)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="0123456789", min_size=8, max_size=8))
def test_a_danish_number_in_e164_is_its_own_normal_form_as_phonenumbers_says(
        digits: str) -> None:
    raw = "+45" + digits
    number = phonenumbers.parse(raw, "DK")
    assert phonenumbers.is_possible_number(number)
    assert normalise_phone(raw) == raw == phonenumbers.format_number(
        number, phonenumbers.PhoneNumberFormat.E164)
