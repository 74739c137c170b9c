"""The one place that seals and opens fields: envelope keys per case, participant or system.

Every sealed column is encrypted with the data key of its owner (a case, a participant, or
the system for the inbox), and that data key is stored wrapped by the active master key.
Destroying a data key (erasure) makes every copy of what it sealed unreadable.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Protocol

from sqlalchemy import bindparam
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from storage.crypto import (
    KeyDestroyed,
    Sealer,
    UnknownKey,
    context,
    key_id_of,
    new_key,
)
from storage.keys import KeyRing
from storage.models import DataKey, new_id, table_of, utcnow


class SealedRow(Protocol):
    """A table row with sealed columns; it says whose key seals it."""

    id: str

    def key_owner(self) -> tuple[str, str]: ...


def _table(row: SealedRow) -> str:
    return str(type(row).__tablename__)  # type: ignore[attr-defined]


# Keys are cached for a short while only: another process may destroy a key (erasure).
CACHE_SECONDS = 60.0
# Past this many cached keys, expired ones are dropped, so memory does not grow with the
# number of people a long-running process has ever served.
CACHE_MAX = 5_000


_KEYS = table_of(DataKey)
_PREFETCH = (sa_select(_KEYS.c.id, _KEYS.c.scope, _KEYS.c.owner_id, _KEYS.c.wrapped)
             .where(_KEYS.c.owner_id.in_(bindparam("owners", expanding=True)),
                    _KEYS.c.active.is_(True), _KEYS.c.wrapped.is_not(None)))


class Vault:
    """Seals and opens row fields with the owner's data key; caches unwrapped keys briefly."""

    def __init__(self, ring: KeyRing, *, cache_seconds: float = CACHE_SECONDS) -> None:
        self.ring = ring
        self._ttl = cache_seconds
        self._keys: dict[str, tuple[bytes, float]] = {}
        self._active: dict[tuple[str, str], tuple[str, float]] = {}
        # A key's cipher, made once: only ever used right after the key itself was looked up
        # (which is where expiry and destruction are checked), so it outlives nothing.
        self._ciphers: dict[str, Sealer] = {}

    # -- fields ---------------------------------------------------------------------------
    def seal(self, session: Session, row: SealedRow, column: str, value: str | None) -> None:
        """Encrypt `value` into `row.column`, bound to the row's table, column and id."""
        if value is None:
            setattr(row, column, None)
            return
        scope, owner = row.key_owner()
        kid, key = self.active_key(session, scope, owner, getattr(row, "case_id", None))
        aad = context(_table(row), column, row.id)
        setattr(row, column, self._cipher(kid, key).seal(value.encode("utf-8"), aad))

    def seal_value(self, session: Session, *, table: str, column: str, row_id: str,
                   owner: tuple[str, str], case_id: str | None, value: str) -> bytes:
        """The same sealing as `seal`, for bulk inserts that build rows as plain values."""
        kid, key = self.active_key(session, owner[0], owner[1], case_id)
        return self._cipher(kid, key).seal(value.encode("utf-8"), context(table, column, row_id))

    def sealer(self, session: Session, owner: tuple[str, str], case_id: str | None) -> Sealer:
        """The owner's current key as a `Sealer`, for sealing many values of one batch.

        Bulk rows seal with it as `seal_value` does; it lives no longer than the batch.
        """
        kid, key = self.active_key(session, owner[0], owner[1], case_id)
        return self._cipher(kid, key)

    def active_key(
        self, session: Session, scope: str, owner_id: str, case_id: str | None = None
    ) -> tuple[str, bytes]:
        """The owner's current data key, created on first use."""
        now = time.monotonic()
        cached = self._active.get((scope, owner_id))
        if cached and cached[1] > now:
            key = self._keys.get(cached[0])
            # The hot path of every seal in a batch: both cached and fresh.
            if key is not None and key[1] > now:
                return cached[0], key[0]
            return cached[0], self.key_by_id(session, cached[0])
        return self._load_active(session, scope, owner_id, case_id, now)

    def open(self, session: Session, row: SealedRow, column: str) -> str | None:
        """Decrypt `row.column`; raises DecryptionError when it does not belong there."""
        blob = getattr(row, column)
        if blob is None:
            return None
        return self.open_value(session, table=_table(row), column=column, row_id=row.id,
                               blob=bytes(blob))

    def open_value(self, session: Session, *, table: str, column: str, row_id: str,
                   blob: bytes) -> str:
        """The same opening as `open`, for a value read with a plain (Core) query."""
        kid = key_id_of(bytes(blob))
        key = self.key_by_id(session, kid)
        return self._cipher(kid, key).open(bytes(blob), context(table, column, row_id)) \
            .decode("utf-8")

    def _cipher(self, kid: str, key: bytes) -> Sealer:
        cipher = self._ciphers.get(kid)
        if cipher is None:
            if len(self._ciphers) >= CACHE_MAX:
                self._ciphers.clear()
            cipher = self._ciphers[kid] = Sealer(key, kid)
        return cipher

    # -- keys -----------------------------------------------------------------------------
    def _load_active(self, session: Session, scope: str, owner_id: str, case_id: str | None,
                     now: float) -> tuple[str, bytes]:
        row = session.exec(
            select(DataKey)
            .where(DataKey.scope == scope, DataKey.owner_id == owner_id, col(DataKey.active))
            .order_by(col(DataKey.version).desc())
        ).first()
        if row is None or row.wrapped is None:
            if row is not None:
                raise KeyDestroyed(f"the data key of {scope} {owner_id} was destroyed (erased)")
            row = self._create(session, scope, owner_id, case_id, version=1)
        self._active[(scope, owner_id)] = (row.id, now + self._ttl)
        return row.id, self.key_by_id(session, row.id)

    def prefetch(self, session: Session, owners: Iterable[tuple[str, str]]) -> None:
        """Load and unwrap the active keys of many owners in one query (a sweep batch)."""
        wanted = {(scope, owner) for scope, owner in owners}
        if not wanted:
            return
        now = time.monotonic()
        # Plain rows, not ORM objects: a sweep batch prefetches a thousand keys.
        rows = session.connection().execute(_PREFETCH,
                                            {"owners": [o for _, o in wanted]}).all()
        for kid, scope, owner_id, wrapped in rows:
            if (scope, owner_id) in wanted:
                if kid not in self._keys:
                    self._remember(kid, self.ring.unwrap(bytes(wrapped), kid), now)
                self._active[(scope, owner_id)] = (kid, now + self._ttl)

    def key_by_id(self, session: Session, kid: str) -> bytes:
        """An unwrapped data key by id."""
        now = time.monotonic()
        cached = self._keys.get(kid)
        if cached and cached[1] > now:
            return cached[0]
        row = session.get(DataKey, kid)
        if row is None:
            raise UnknownKey(f"data key {kid!r} is not in this database")
        if row.wrapped is None:
            raise KeyDestroyed(f"data key {kid!r} was destroyed (erased); the value is gone")
        key = self.ring.unwrap(bytes(row.wrapped), kid)
        self._remember(kid, key, now)
        return key

    def _remember(self, kid: str, key: bytes, now: float) -> None:
        if len(self._keys) >= CACHE_MAX:
            self._keys = {k: v for k, v in self._keys.items() if v[1] > now}
            self._active = {k: v for k, v in self._active.items() if v[1] > now}
            if len(self._keys) >= CACHE_MAX:
                # All fresh: sweep batches in a row. Forget the older half, never the keys
                # just prefetched for the batch under way (each would be loaded again alone).
                self._keys = dict(list(self._keys.items())[CACHE_MAX // 2:])
                self._active = {k: v for k, v in self._active.items() if v[0] in self._keys}
        self._keys[kid] = (key, now + self._ttl)

    def _create(
        self, session: Session, scope: str, owner_id: str, case_id: str | None, version: int
    ) -> DataKey:
        kid = f"dk_{new_id()}"
        key = new_key()
        master_id, wrapped = self.ring.wrap(key, kid)
        # Two processes may both see no key and both create one; the unique (scope, owner,
        # version) lets exactly one insert win, and the other adopts the winner's key.
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        session.execute(insert(DataKey).values(
            id=kid, scope=scope, owner_id=owner_id, case_id=case_id, version=version,
            active=True, master_key_id=master_id, wrapped=wrapped, created_at=utcnow(),
        ).on_conflict_do_nothing(index_elements=["scope", "owner_id", "version"]))
        row = session.exec(select(DataKey).where(
            DataKey.scope == scope, DataKey.owner_id == owner_id, DataKey.version == version
        ).execution_options(populate_existing=True)).one()
        if row.id == kid:
            self._remember(kid, key, time.monotonic())
        return row

    def destroy(self, session: Session, rows: Iterable[DataKey]) -> int:
        """Destroy data keys: what they sealed becomes unreadable everywhere. Returns a count."""
        count = 0
        for row in rows:
            row.wrapped, row.active, row.destroyed_at = None, False, utcnow()
            session.add(row)
            self._keys.pop(row.id, None)
            self._active.pop((row.scope, row.owner_id), None)
            count += 1
        session.flush()
        return count

    def new_versions(self, session: Session, progress: Callable[[int], None] | None = None) -> int:
        """Give every live owner a new data-key version for new writes; old ones still open."""
        live = session.exec(
            select(DataKey).where(col(DataKey.active), col(DataKey.wrapped).is_not(None))
        ).all()
        for row in live:
            row.active = False
            session.add(row)
            self._create(session, row.scope, row.owner_id, row.case_id, row.version + 1)
            self._active.pop((row.scope, row.owner_id), None)
            if progress:
                progress(1)
        return len(live)

    def rewrap_all(self, session: Session, progress: Callable[[int], None] | None = None) -> int:
        """Re-wrap every live data key under the active master key; returns how many changed."""
        changed = 0
        rows = session.exec(select(DataKey).where(col(DataKey.wrapped).is_not(None))).all()
        for row in rows:
            if row.master_key_id != self.ring.active and row.wrapped is not None:
                key = self.ring.unwrap(bytes(row.wrapped), row.id)
                row.master_key_id, row.wrapped = self.ring.wrap(key, row.id)
                session.add(row)
                changed += 1
            if progress:
                progress(1)
        session.flush()
        return changed
