"""The master key ring: read from the key file (or STEMME_KEYS), never from the database.

The key file is JSON::

    {"format": 1, "active": "m2",
     "master_keys": [{"id": "m1", "key": "<base64>", "created_at": "..."}, ...],
     "index_secret": "<base64>", "audit_secret": "<base64>"}

Master keys only wrap data keys (envelope encryption). `index_secret` feeds HKDF for the
blind indexes, so rotating master keys never changes an index. `audit_secret` keys the audit
chain (key files from before it derive that key from `index_secret`).
"""

from __future__ import annotations

import base64
import json
import os
import stat
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from storage.crypto import KEY_BYTES, Sealer, UnknownKey, context, key_id_of, new_key, seal


class KeyFileError(Exception):
    """The key file is missing, unreadable or malformed; the message says what to do."""


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _unb64(text: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"{what} is not valid base64") from exc
    if len(raw) != KEY_BYTES:
        raise KeyFileError(f"{what} must be {KEY_BYTES} bytes, is {len(raw)}")
    return raw


@dataclass
class KeyRing:
    """Master keys by id, the active one for wrapping, and the blind-index secret."""

    master_keys: dict[str, bytes]
    active: str
    index_secret: bytes
    created: dict[str, str] = field(default_factory=dict)
    audit_secret: bytes | None = field(default=None, repr=False)
    path: Path | None = None
    _mtime: float = 0.0
    # Master key id -> (key, its cipher): a sweep batch unwraps thousands of data keys.
    _ciphers: dict[str, tuple[bytes, Sealer]] = field(default_factory=dict, repr=False,
                                                      compare=False)

    # -- loading and saving -------------------------------------------------------------
    @classmethod
    def generate(cls) -> KeyRing:
        """A new ring with one master key."""
        now = datetime.now(UTC).isoformat()
        return cls({"m1": new_key()}, "m1", new_key(), {"m1": now}, new_key())

    @classmethod
    def from_json(cls, text: str, source: str = "STEMME_KEYS") -> KeyRing:
        """Parse the key file's JSON."""
        try:
            doc = json.loads(text)
            keys = {k["id"]: _unb64(k["key"], f"{source}: master key {k['id']}")
                    for k in doc["master_keys"]}
            created = {k["id"]: k.get("created_at", "") for k in doc["master_keys"]}
            audit = doc.get("audit_secret")
            ring = cls(keys, doc["active"], _unb64(doc["index_secret"], f"{source}: index_secret"),
                       created,
                       _unb64(audit, f"{source}: audit_secret") if audit is not None else None)
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise KeyFileError(
                f"{source} is not a Stemme key file ({exc.__class__.__name__}: {exc}); restore it "
                "from your key backup"
            ) from None
        if ring.active not in ring.master_keys:
            raise KeyFileError(f"{source}: active key {ring.active!r} is not in master_keys")
        return ring

    def to_json(self) -> str:
        """The key file's JSON."""
        return json.dumps(
            {
                "format": 1,
                "active": self.active,
                "master_keys": [
                    {"id": kid, "key": _b64(key), "created_at": self.created.get(kid, "")}
                    for kid, key in self.master_keys.items()
                ],
                "index_secret": _b64(self.index_secret),
                **({"audit_secret": _b64(self.audit_secret)} if self.audit_secret else {}),
            },
            indent=2,
        )

    @classmethod
    def load(cls, path: Path, *, create: bool = True) -> KeyRing:
        """Read the key file, creating it (mode 0600) when it does not exist yet."""
        if not path.exists():
            if not create:
                raise KeyFileError(f"key file {path} does not exist; run `stemme migrate` first")
            ring = cls.generate()
            ring.path = path
            ring.save(exclusive=True)
            return ring
        try:
            mode = path.stat().st_mode
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise KeyFileError(
                f"cannot read key file {path}: {exc.strerror}; check STEMME_KEY_FILE and that "
                "this user owns the file"
            ) from None
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KeyFileError(
                f"key file {path} can be read by other users; run: chmod 600 {path}"
            )
        ring = cls.from_json(text, str(path))
        ring.path = path
        ring._mtime = path.stat().st_mtime
        return ring

    def save(self, *, exclusive: bool = False) -> None:
        """Write the key file atomically with mode 0600."""
        if self.path is None:
            raise KeyFileError(
                "keys came from STEMME_KEYS, not a file; changing keys needs STEMME_KEY_FILE"
            )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if exclusive:
            # O_EXCL: two processes starting at once must not both create different keys.
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                other = KeyRing.load(self.path, create=False)
                self.__dict__.update(other.__dict__)
                return
        else:
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".keys-")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(self.to_json())
            fh.flush()
            os.fsync(fh.fileno())
        if not exclusive:
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        self._mtime = self.path.stat().st_mtime

    def refresh(self) -> None:
        """Reload from the file if another process changed it (rotation, erasure)."""
        if self.path is None or not self.path.exists():
            return
        mtime = self.path.stat().st_mtime
        if mtime != self._mtime:
            other = KeyRing.load(self.path, create=False)
            self.master_keys, self.active = other.master_keys, other.active
            self.created, self._mtime = other.created, other._mtime

    # -- use -----------------------------------------------------------------------------
    def wrap(self, data_key: bytes, data_key_id: str) -> tuple[str, bytes]:
        """Wrap a data key with the active master key; returns (master key id, wrapped)."""
        self.refresh()
        aad = context("data_keys", "wrapped", data_key_id)
        return self.active, seal(self.master_keys[self.active], self.active, data_key, aad)

    def unwrap(self, wrapped: bytes, data_key_id: str) -> bytes:
        """Unwrap a data key; the master key id is read from the wrapped value."""
        kid = key_id_of(wrapped)
        if kid not in self.master_keys:
            self.refresh()
        if kid not in self.master_keys:
            raise UnknownKey(
                f"master key {kid!r} is not in the key file: it was retired, or this is not the "
                "key file of this database"
            )
        key = self.master_keys[kid]
        cached = self._ciphers.get(kid)
        if cached is None or cached[0] != key:  # a key file re-read may change what an id holds
            cached = self._ciphers[kid] = (key, Sealer(key, kid))
        return cached[1].open(wrapped, context("data_keys", "wrapped", data_key_id))

    def rotate(self) -> str:
        """Add a new master key version and make it active; returns its id."""
        self.refresh()
        number = 1 + max(int(k[1:]) for k in self.master_keys if k[1:].isdigit())
        kid = f"m{number}"
        self.master_keys[kid] = new_key()
        self.created[kid] = datetime.now(UTC).isoformat()
        self.active = kid
        self.save()
        return kid

    def retire(self, kid: str) -> None:
        """Forget a master key for good (after every data key was re-wrapped)."""
        if kid == self.active:
            raise KeyFileError("the active master key cannot be retired")
        self.master_keys.pop(kid, None)
        self.created.pop(kid, None)
        self.save()

    @property
    def audit_key(self) -> bytes:
        """The key of the audit chain's HMAC: the key file's `audit_secret`, or for a key file
        written before it existed, a key derived from the index secret for that purpose alone.
        Not a master key: rotation and erasure never touch it."""
        return self.audit_secret or self.derive("stemme audit chain v1")

    def derive(self, purpose: str) -> bytes:
        """A purpose-bound key from the index secret (HKDF-SHA256)."""
        return HKDF(
            algorithm=hashes.SHA256(), length=32, salt=b"stemme", info=purpose.encode()
        ).derive(self.index_secret)


def load_keyring(key_file: Path, keys_json: str | None = None) -> KeyRing:
    """The ring from STEMME_KEYS when set, else from the key file (created if missing)."""
    if keys_json:
        return KeyRing.from_json(keys_json)
    return KeyRing.load(key_file)
