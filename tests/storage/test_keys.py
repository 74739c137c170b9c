"""The key file and rotation: old and new data stay readable, keys never live in the database."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from storage.blind_index import BlindIndex
from storage.crypto import DecryptionError, new_key
from storage.keys import KeyFileError, KeyRing
from storage.models import Case, DataKey
from storage.repo.cases import get_participant, view_participant
from storage.vault import Vault
from tests.storage.helpers import make_case, make_parent


def test_the_key_file_is_created_owner_only_on_first_use(tmp_path: Path) -> None:
    path = tmp_path / "data" / "keys.json"
    KeyRing.load(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert set(json.loads(path.read_text())) >= {"active", "master_keys", "index_secret"}


def test_a_key_file_readable_by_others_is_refused_with_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    KeyRing.load(path)
    path.chmod(0o644)
    with pytest.raises(KeyFileError, match="chmod 600"):
        KeyRing.load(path)


def test_a_damaged_key_file_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    path.write_text("{not json")
    path.chmod(0o600)
    with pytest.raises(KeyFileError) as err:
        KeyRing.load(path)
    assert "\n" not in str(err.value)


def test_after_rotation_old_and_new_data_decrypt(
    engine: Engine, ring: KeyRing, index: BlindIndex
) -> None:
    vault = Vault(ring)
    with Session(engine, expire_on_commit=False) as session:
        case_id = make_case(session, vault, name="Gammel Data").id
        session.commit()
    new_master = ring.rotate()
    with Session(engine, expire_on_commit=False) as session:
        vault.new_versions(session)
        assert vault.rewrap_all(session) >= 1
        new_parent = make_parent(session, vault, index, session.get(Case, case_id))
        session.commit()

    # A fresh process: only the key file and the database.
    fresh = Vault(KeyRing.load(ring.path))
    with Session(engine, expire_on_commit=False) as session:
        case = session.get(Case, case_id)
        assert fresh.open(session, case, "child_name") == "Gammel Data"
        view = view_participant(session, fresh, get_participant(session, new_parent.id))
        assert view.name == "Mette Kirkegaard"
        live = session.exec(select(DataKey).where(DataKey.wrapped.is_not(None))).all()
        assert {k.master_key_id for k in live} == {new_master}


def test_a_retired_master_key_no_longer_opens_a_copy_wrapped_with_it(
    engine: Engine, ring: KeyRing
) -> None:
    vault = Vault(ring)
    with Session(engine, expire_on_commit=False) as session:
        make_case(session, vault)
        session.commit()
        wrapped_before = {k.id: bytes(k.wrapped) for k in session.exec(select(DataKey))}
    old = ring.active
    ring.rotate()
    with Session(engine, expire_on_commit=False) as session:
        vault.rewrap_all(session)
        session.commit()
    ring.retire(old)
    fresh = KeyRing.load(ring.path)
    for kid, wrapped in wrapped_before.items():
        with pytest.raises(Exception, match="not in the key file"):
            fresh.unwrap(wrapped, kid)


def test_keys_come_from_the_environment_when_given(ring: KeyRing) -> None:
    again = KeyRing.from_json(ring.to_json())
    assert again.master_keys == ring.master_keys
    assert again.derive("x") == ring.derive("x")


def test_a_full_key_cache_keeps_the_keys_of_the_batch_under_way(
    engine: Engine, vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Arrange: a cache of ten keys, and twelve owners with keys.
    monkeypatch.setattr("storage.vault.CACHE_MAX", 10)
    owners = [("participant", f"p{n:02d}") for n in range(12)]
    with Session(engine) as session:
        for scope, owner in owners:
            vault.active_key(session, scope, owner)
        session.commit()
    fresh = Vault(vault.ring)

    # Act: one batch prefetches the first eight owners, the next batch the last four.
    with Session(engine) as session:
        fresh.prefetch(session, owners[:8])
        fresh.prefetch(session, owners[8:])

    # Assert: the cache stayed bounded and still holds every key of the latest batch.
        assert len(fresh._keys) <= 10
        latest = {fresh._active[owner][0] for owner in owners[8:]}
        assert latest <= set(fresh._keys)


def test_unwrapping_follows_a_master_key_that_changed_under_its_id() -> None:
    # Arrange: a data key wrapped, unwrapped once (its cipher now kept), then the key file
    # is replaced by one whose "m1" is a different key.
    ring = KeyRing.generate()
    data_key = new_key()
    _, wrapped = ring.wrap(data_key, "dk_1")
    assert ring.unwrap(wrapped, "dk_1") == data_key
    other = KeyRing.generate()
    ring.master_keys = other.master_keys

    # Act / Assert: the old wrapping no longer opens; one made with the new key does.
    with pytest.raises(DecryptionError):
        ring.unwrap(wrapped, "dk_1")
    _, rewrapped = other.wrap(data_key, "dk_1")
    assert ring.unwrap(rewrapped, "dk_1") == data_key


def test_the_audit_key_is_its_own_and_older_key_files_derive_a_stable_one() -> None:
    ring = KeyRing.generate()
    doc = json.loads(ring.to_json())
    older = {k: v for k, v in doc.items() if k != "audit_secret"}  # a key file from before

    again = KeyRing.from_json(ring.to_json())
    derived = KeyRing.from_json(json.dumps(older))

    assert "audit_secret" in doc
    assert again.audit_key == ring.audit_key
    assert ring.audit_key not in ring.master_keys.values()
    assert derived.audit_key == KeyRing.from_json(json.dumps(older)).audit_key
    assert derived.audit_key not in (derived.index_secret, *derived.master_keys.values())
