"""Field encryption: values are bound to their place and never repeat."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from storage.crypto import (
    DecryptionError,
    Sealer,
    context,
    key_id_of,
    new_key,
    open_sealed,
    seal,
)
from storage.models import Case
from storage.vault import Vault
from tests.storage.helpers import make_case, make_parent


def test_the_same_value_sealed_twice_gives_different_ciphertexts() -> None:
    key = new_key()
    aad = context("cases", "child_name", "abc")
    first, second = seal(key, "k1", b"Sofie", aad), seal(key, "k1", b"Sofie", aad)
    assert first != second
    assert open_sealed(key, first, aad) == open_sealed(key, second, aad) == b"Sofie"


def test_every_ciphertext_names_its_key() -> None:
    blob = seal(new_key(), "dk_123", b"x", context("t", "c", "r"))
    assert key_id_of(blob) == "dk_123"


def test_a_ciphertext_with_a_swapped_key_id_fails() -> None:
    key = new_key()
    aad = context("t", "c", "r")
    blob = seal(key, "k1", b"secret", aad)
    forged = blob.replace(b"k1", b"k2", 1)
    with pytest.raises(DecryptionError):
        open_sealed(key, forged, aad)


def test_a_ciphertext_copied_to_another_row_fails(engine: Engine, vault: Vault, index) -> None:
    with Session(engine, expire_on_commit=False) as session:
        case = make_case(session, vault)
        first, second = make_parent(session, vault, index, case), make_parent(
            session, vault, index, case, phone="+45 87 65 43 21", name="Anders")
        second.name = first.name  # an attacker with write access copies a value across rows
        with pytest.raises(DecryptionError):
            vault.open(session, second, "name")


def test_a_ciphertext_copied_to_another_column_fails(engine: Engine, vault: Vault, index) -> None:
    with Session(engine, expire_on_commit=False) as session:
        case = make_case(session, vault)
        parent = make_parent(session, vault, index, case)
        parent.birth_date = parent.name
        with pytest.raises(DecryptionError):
            vault.open(session, parent, "birth_date")


def test_a_ciphertext_copied_to_another_table_fails(engine: Engine, vault: Vault, index) -> None:
    with Session(engine, expire_on_commit=False) as session:
        case = make_case(session, vault)
        parent = make_parent(session, vault, index, case)
        stolen = Case(id=parent.id, ref="x", caseworker_id=case.caseworker_id)
        stolen.child_name = parent.name
        with pytest.raises(DecryptionError):
            vault.open(session, stolen, "child_name")


def test_sealed_values_survive_a_round_trip_through_the_database(
    engine: Engine, vault: Vault, index
) -> None:
    with Session(engine, expire_on_commit=False) as session:
        case = make_case(session, vault, name="Ærø Østergård")
        case_id, parent_id = case.id, make_parent(session, vault, index, case).id
        session.commit()
    with Session(engine, expire_on_commit=False) as session:
        case_row = session.get(Case, case_id)
        assert case_row is not None
        assert vault.open(session, case_row, "child_name") == "Ærø Østergård"
        from storage.repo.cases import get_participant, view_participant

        view = view_participant(session, vault, get_participant(session, parent_id))
        assert (view.name, view.phone) == ("Mette Kirkegaard", "+4512345678")


def test_a_sealer_opens_what_it_and_seal_sealed_and_nothing_moved() -> None:
    key, aad = new_key(), context("answers", "score", "r1")
    sealer = Sealer(key, "dk_1")
    for blob in (sealer.seal(b"7.0", aad), seal(key, "dk_1", b"7.0", aad)):
        assert sealer.open(blob, aad) == open_sealed(key, blob, aad) == b"7.0"
        with pytest.raises(DecryptionError):
            sealer.open(blob, context("answers", "score", "r2"))
