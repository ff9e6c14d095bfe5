"""One run at a time: a file lock beside the SQLite file, an advisory lock on PostgreSQL."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from lettermon.errors import LockedError
from lettermon.store.db import Database

_PG_SENDER_KEY = 0x6C65_7473  # "lets": one sender at a time across every worker


def lock_path(db: Database, lock_file: Path | None) -> Path | None:
    """The lock file: the one configured, else beside the SQLite file (None on PostgreSQL)."""
    if lock_file is not None:
        return lock_file
    if db.path is not None:
        return db.path.with_name(db.path.name + ".lock")
    return None


@contextmanager
def run_lock(db: Database, lock_file: Path | None = None) -> Iterator[None]:
    """Hold the one-process lock of an SQLite database, or raise :class:`LockedError` at
    once (never wait). A PostgreSQL database is shared: several processes work on it at
    once, kept apart by the leases on letters and the sender lock, so there it holds nothing
    (unless ``lock_file`` asks for a file lock)."""
    path = lock_path(db, lock_file)
    if path is None:
        yield  # PostgreSQL, or an in-memory database that belongs to this process alone
        return
    release = _try_lock(path)
    if release is None:
        raise LockedError(f"another lettermon run holds {path}; exiting")
    try:
        yield
    finally:
        release()


def _try_lock(path: Path) -> Callable[[], None] | None:
    """Lock ``path`` for this process now: how to release it, or None if another holds it.

    Off Windows this is ``flock`` on the file, as filelock does there (and as earlier versions
    of lettermon did through it, so old and new processes exclude each other), without
    importing filelock on the start-up path of every cron check. The lock goes with the
    process: a killed run leaves nothing to clean up.
    """
    if sys.platform == "win32":  # pragma: no cover - no flock there; filelock knows Windows
        from filelock import FileLock, Timeout

        lock = FileLock(str(path), timeout=0)
        try:
            lock.acquire()
        except Timeout:
            return None
        return lock.release

    import fcntl

    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:  # another process holds it
        os.close(fd)
        return None

    def release() -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    return release


@contextmanager
def sender_lock(db: Database) -> Iterator[bool]:
    """Whether this connection may send the outbox now (never waits).

    Sending is serialised across every process sharing a PostgreSQL database, so daily
    caps and spend limits hold exactly, and an entry left ``sending`` by a process that
    died is known to be orphaned by whoever holds this lock next. On SQLite the run lock
    already keeps other processes out.
    """
    if db.dialect != "postgresql":
        yield True
        return
    if not db.scalar("SELECT pg_try_advisory_lock(?)", (_PG_SENDER_KEY,)):
        yield False
        return
    try:
        yield True
    finally:
        db.scalar("SELECT pg_advisory_unlock(?)", (_PG_SENDER_KEY,))

