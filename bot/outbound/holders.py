"""Who holds outbox rows: one claim owner per dispatcher, and whether a holder is dead."""

from __future__ import annotations

import os
import secrets
import socket
from pathlib import Path

# Claim owners ("place:pid/nonce") of the dispatchers alive in this process.
LIVE_OWNERS: set[str] = set()


def _place() -> str:
    """Where a pid means one process: host name, kernel boot and pid namespace.

    The host name alone is not enough: containers may share one, each with its own pids.
    """
    parts = [socket.gethostname()[:20]]
    for source in ("/proc/sys/kernel/random/boot_id", "/proc/self/ns/pid"):
        try:
            text = os.readlink(source) if source.endswith("/pid") else Path(source).read_text()
        except OSError:
            continue
        parts.append("".join(ch for ch in text if ch.isalnum())[-10:])
    return ".".join(parts)


_PLACE = _place()


def owner_token() -> str:
    """A claim owner unique to one dispatcher: this process's place and pid, and a nonce.

    The nonce tells this dispatcher's claims from those of an earlier process that had the
    same pid in the same place, which are certainly dead. (A restarted container has a new
    pid namespace, so its predecessor's rows wait for their leases instead.)
    """
    return f"{_PLACE}:{os.getpid()}/{secrets.token_hex(4)}"


def _pid_alive(pid: int) -> bool:
    if os.name != "posix":
        return True  # os.kill(pid, 0) would terminate it on Windows: assume alive, use the lease
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    try:  # a killed process its parent has not reaped yet is a zombie: dead for our purposes
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def holder_is_dead(owner: str) -> bool:
    """True only when `owner` certainly is not running: a process of this place (host, boot,
    pid namespace) that is gone, or an earlier process with this very pid. False means "maybe
    alive": its rows wait for their lease.

    A pid reused by an unrelated process reads as alive, which only costs waiting the lease.
    """
    base, sep, _nonce = owner.rpartition("/")
    place, colon, pid_text = base.rpartition(":")
    if not sep or not colon or not pid_text.isdigit() or place != _PLACE:
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return owner not in LIVE_OWNERS
    return not _pid_alive(pid)
