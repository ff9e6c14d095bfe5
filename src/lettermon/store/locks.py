"""One run at a time: a file lock beside the SQLite file, an advisory lock on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lettermon.errors import LockedError
from lettermon.store.db import Database

_PG_LOCK_KEY = 0x6C65_7474  # "lett"


def lock_path(db: Database, lock_file: Path | None) -> Path | None:
    """The lock file: the one configured, else beside the SQLite file (None on PostgreSQL)."""
    if lock_file is not None:
        return lock_file
    if db.path is not None:
        return db.path.with_name(db.path.name + ".lock")
    return None


@contextmanager
def run_lock(db: Database, lock_file: Path | None = None) -> Iterator[None]:
    """Hold the run lock or raise :class:`LockedError` at once (never wait)."""
    path = lock_path(db, lock_file)
    if path is not None:
        from filelock import FileLock, Timeout

        lock = FileLock(str(path), timeout=0)
        try:
            lock.acquire()
        except Timeout:
            raise LockedError(f"another lettermon run holds {path}; exiting") from None
        try:
            yield
        finally:
            lock.release()
    elif db.dialect == "postgresql":
        if not db.scalar("SELECT pg_try_advisory_lock(?)", (_PG_LOCK_KEY,)):
            raise LockedError("another lettermon run holds the database lock; exiting")
        try:
            yield
        finally:
            db.scalar("SELECT pg_advisory_unlock(?)", (_PG_LOCK_KEY,))
    else:
        yield  # an in-memory database belongs to this process alone
