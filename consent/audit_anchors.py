"""Anchors of the audit chain: its head (sequence number and hash), appended to a file outside
the database, so that deleting the newest entries, which leaves a valid chain, is found.

The file is JSON lines, only ever appended to (O_APPEND, fsync), owner-only. An anchor is
written each day by the running service and at every `stemme audit verify`. Whoever can
rewrite the database cannot, with that alone, rewrite this file; keep it, like the key file,
on another disk or ship it to a log server.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Anchor:
    """The chain's head at one moment."""

    seq: int
    hash: str


class AnchorFileError(Exception):
    """The anchor file cannot be read or holds a line that is not an anchor."""


def read_anchors(path: Path) -> list[Anchor]:
    """Every anchor in the file, oldest first; [] when there is no file yet."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise AnchorFileError(f"cannot read the audit anchor file {path}: {exc.strerror}; "
                              "check STEMME_AUDIT_ANCHOR_FILE") from None
    anchors = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            anchors.append(Anchor(seq=int(row["seq"]), hash=str(row["hash"])))
        except (ValueError, KeyError, TypeError):
            raise AnchorFileError(f"line {number} of the audit anchor file {path} is not an "
                                  "anchor; restore the file from its copy") from None
    return anchors


def last_anchor(path: Path) -> Anchor | None:
    """The newest anchor in the file, if any."""
    anchors = read_anchors(path)
    return anchors[-1] if anchors else None


def write_anchor(path: Path, anchor: Anchor, *, at: datetime | None = None) -> bool:
    """Append `anchor` unless it is the newest one already; True when a line was written."""
    if last_anchor(path) == anchor:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"seq": anchor.seq, "hash": anchor.hash,
                       "at": (at or datetime.now(UTC)).isoformat()}) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    return True


__all__ = ["Anchor", "AnchorFileError", "last_anchor", "read_anchors", "write_anchor"]
