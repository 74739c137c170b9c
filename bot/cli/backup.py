"""`stemme backup`: a consistent copy of the SQLite database, taken while Stemme serves.

The copy is made with SQLite's online backup API from one read transaction: every page comes
from the same snapshot, so the copy is the database as it was at one moment, and (the database
being in WAL mode) the service keeps writing meanwhile. It is written beside `--out` under a
temporary name, checked, and only then given its name, so a half-written backup never looks
like a whole one. PostgreSQL has its own tools (`pg_dump`); this command says so.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import sqlite3
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.engine import make_url

from bot.cli.output import CommandError, Output
from bot.runtime.parts import Runtime

# Pages copied per step: a progress tick every 4 MB (at 4 KiB pages). Between steps the
# snapshot stays open, so the number only changes how often the bar moves.
STEP_PAGES = 1024

PG_DUMP = ("stemme backup copies a SQLite database; for PostgreSQL use pg_dump, e.g. "
           "pg_dump --format=custom --file=stemme.dump DATABASE (restore with pg_restore), "
           "and keep the key file apart from the dump")


def _sqlite_file(url: str) -> Path:
    """The database file of a SQLite URL; any other database is refused with what to use."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        raise CommandError(PG_DUMP)
    if not parsed.database or parsed.database == ":memory:":
        raise CommandError("STEMME_DATABASE_URL is an in-memory database: there is no file to "
                           "back up")
    path = Path(parsed.database)
    if not path.is_file():
        raise CommandError(f"no database at {path}; check STEMME_DATABASE_URL and "
                           "STEMME_DATA_DIR")
    return path


def _target(out: str, source: Path, force: bool) -> Path:
    target = Path(out)
    if target.exists() and target.resolve() == source.resolve():
        raise CommandError(f"--out {target} is the database itself; choose another file")
    if target.is_dir():
        raise CommandError(f"--out {target} is a folder; name the backup file, e.g. "
                           f"{target / 'stemme-backup.db'}")
    if target.exists() and not force:
        raise CommandError(f"{target} exists; choose another --out, or add --force to "
                           "replace it")
    if not target.parent.is_dir():
        raise CommandError(f"the folder {target.parent} does not exist")
    return target


def copy_database(source: Path, target: Path, step: Callable[[int], None] | None = None,
                  ) -> int:
    """Copy `source` into the new, empty file `target` from one snapshot; returns its pages.

    `step(n)` is told as each `n` pages are copied.
    """
    src = sqlite3.connect(source, timeout=30, isolation_level=None)
    try:
        src.execute("PRAGMA busy_timeout=30000")
        # The read transaction is the snapshot: backup steps read inside it instead of
        # starting (and restarting on every write) one of their own.
        src.execute("BEGIN")
        pages = int(src.execute("PRAGMA page_count").fetchone()[0])
        done = 0

        def progress(_status: int, remaining: int, total: int) -> None:
            nonlocal done
            if step is not None and total - remaining > done:
                step(total - remaining - done)
            done = total - remaining

        dst = sqlite3.connect(target)
        try:
            src.backup(dst, pages=STEP_PAGES, progress=progress)
        finally:
            dst.close()
        src.execute("ROLLBACK")  # nothing was written; this only ends the snapshot
    finally:
        src.close()
    return pages


def _check(target: Path) -> None:
    """The copy opens and SQLite finds nothing wrong in it."""
    conn = sqlite3.connect(target)
    try:
        verdict = conn.execute("PRAGMA quick_check").fetchone()[0]
    finally:
        conn.close()
    if verdict != "ok":
        raise CommandError(f"the copy failed SQLite's check ({verdict}); try again")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _publish(tmp: Path, target: Path, force: bool) -> None:
    """Give the checked copy its name; without --force never over an existing file."""
    if force:
        os.replace(tmp, target)
        return
    try:
        os.link(tmp, target)  # fails if the name was taken meanwhile, unlike a rename
    except FileExistsError:
        raise CommandError(f"{target} exists; choose another --out, or add --force to "
                           "replace it") from None
    except OSError:  # a file system without hard links
        if target.exists():
            raise CommandError(f"{target} exists; choose another --out, or add --force to "
                               "replace it") from None
        os.replace(tmp, target)
        return
    tmp.unlink()


def _reminder(rt: Runtime) -> tuple[str | None, str]:
    if rt.settings.keys:
        return None, ("the backup is sealed with the keys in STEMME_KEYS: without them it "
                      "cannot be read. Keep a copy of that secret, apart from the backup")
    key_file = rt.settings.resolved_key_file
    return str(key_file), (f"the backup is sealed with the key file {key_file}: without it the "
                           "backup cannot be read. Keep a copy of the key file, apart from "
                           "the backup (whoever has both can read everything)")


def cmd_backup(rt: Runtime, args: argparse.Namespace, out: Output) -> None:
    """A consistent copy of the SQLite database at `--out`, and what else to keep."""
    source = _sqlite_file(rt.settings.resolved_database_url)
    target = _target(args.out, source, args.force)
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.partial")
    os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))  # owner-only, new
    try:
        with contextlib.closing(sqlite3.connect(source, timeout=30)) as conn:
            pages = int(conn.execute("PRAGMA page_count").fetchone()[0])
        with out.progress("backing up", pages) as step:
            copy_database(source, tmp, step)
        _check(tmp)
        _fsync(tmp)
        _publish(tmp, target, args.force)
    except sqlite3.Error as exc:
        raise CommandError(f"the backup failed: {exc}; the database is unchanged") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    size = target.stat().st_size
    key_file, reminder = _reminder(rt)
    out.result({"ok": True, "out": str(target), "bytes": size, "database": str(source),
                "key_file": key_file, "reminder": reminder},
               f"backup written to {target} ({size:,} bytes)\nRemember: {reminder}.")
