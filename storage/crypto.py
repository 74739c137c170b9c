"""AES-GCM field encryption: a self-describing ciphertext bound to its table, column and row.

Layout of a sealed value::

    b"S1" | len(key id) (1 byte) | key id (ASCII) | nonce (12 bytes) | ciphertext + tag

The header (with the key id) and the place the value belongs to (table, column, row id) are
both authenticated as associated data, so a ciphertext copied to another row, column or table,
or given another key id, fails to decrypt.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"S1"
NONCE_BYTES = 12  # 96-bit random nonces, as NIST SP 800-38D recommends for AES-GCM
KEY_BYTES = 32


class CryptoError(Exception):
    """Base of the encryption errors."""


class DecryptionError(CryptoError):
    """A value could not be decrypted: wrong place, tampered, or its key is gone."""


class KeyDestroyed(DecryptionError):
    """The data key was destroyed (erasure): the value is unreadable by design."""


class UnknownKey(DecryptionError):
    """The key id in a value is not known to this installation's keys."""


def context(table: str, column: str, row_id: str) -> bytes:
    """The associated data that binds a value to where it is stored."""
    return f"stemme/v1|{table}|{column}|{row_id}".encode()


def _header(key_id: str) -> bytes:
    raw = key_id.encode("ascii")
    if not 0 < len(raw) < 256:
        raise CryptoError("key id must be 1-255 ASCII characters")
    return MAGIC + bytes([len(raw)]) + raw


def seal(key: bytes, key_id: str, plaintext: bytes, aad: bytes) -> bytes:
    """Encrypt `plaintext` under `key`, naming `key_id` in the output and binding `aad`."""
    return Sealer(key, key_id).seal(plaintext, aad)


class Sealer:
    """`seal` with one key, its header and cipher made once: a batch seals thousands of values.

    Every value still gets its own random nonce and its own associated data.
    """

    __slots__ = ("_aead", "_header", "key_id")

    def __init__(self, key: bytes, key_id: str) -> None:
        self.key_id = key_id
        self._header = _header(key_id)
        self._aead = AESGCM(key)

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        """The same output as `seal(key, key_id, plaintext, aad)`."""
        header, nonce = self._header, os.urandom(NONCE_BYTES)
        return header + nonce + self._aead.encrypt(nonce, plaintext, header + aad)

    def open(self, blob: bytes, aad: bytes) -> bytes:
        """`open_sealed(key, blob, aad)` for a value sealed under this key."""
        return _open(self._aead, blob, aad)


def key_id_of(blob: bytes) -> str:
    """The key id a sealed value names."""
    if len(blob) < 3 or blob[:2] != MAGIC:
        raise DecryptionError("not a Stemme ciphertext (bad header)")
    length = blob[2]
    if len(blob) < 3 + length + NONCE_BYTES + 16:
        raise DecryptionError("ciphertext is truncated")
    return blob[3 : 3 + length].decode("ascii")


def open_sealed(key: bytes, blob: bytes, aad: bytes) -> bytes:
    """Decrypt a sealed value, checking that it belongs where `aad` says."""
    return _open(AESGCM(key), blob, aad)


def _open(aead: AESGCM, blob: bytes, aad: bytes) -> bytes:
    key_id = key_id_of(blob)
    start = 3 + len(key_id)
    header, nonce = blob[:start], blob[start : start + NONCE_BYTES]
    body = blob[start + NONCE_BYTES :]
    try:
        return aead.decrypt(nonce, body, header + aad)
    except InvalidTag:
        raise DecryptionError(
            "ciphertext does not belong here or was altered (authentication failed)"
        ) from None


def new_key() -> bytes:
    """A fresh random 256-bit key."""
    return AESGCM.generate_key(bit_length=256)
