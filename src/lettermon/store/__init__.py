"""Storage: the only place that knows SQL. SQLite by default, PostgreSQL for bigger set-ups.

:class:`Store` groups the queries by aggregate (``letters``, ``polls``, ``signatories``,
``pages``, ``milestones``, ``outbox``, ``breakdowns``), each a small class whose methods
are named for what they answer. Callers open a transaction with
:meth:`Store.transaction` (one poll, one transaction); :func:`open_store` opens, migrates
and closes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from lettermon.errors import StoreError
from lettermon.store.breakdowns import Breakdowns, BreakdownView
from lettermon.store.db import Database, open_database
from lettermon.store.letters import Letters, LetterState
from lettermon.store.locks import run_lock
from lettermon.store.milestones import Milestones
from lettermon.store.outbox import Entry, Outbox
from lettermon.store.pages import Pages
from lettermon.store.polls import PollRecord, Polls
from lettermon.store.schema import LATEST, migrate, schema_version
from lettermon.store.signatories import Signatories, SignatoryView

__all__ = ["BreakdownView", "Database", "Entry", "LetterState", "PollRecord", "SignatoryView",
           "Store", "open_store"]


class Store:
    """One database connection and the queries of every aggregate."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.letters = Letters(db)
        self.polls = Polls(db)
        self.signatories = Signatories(db)
        self.pages = Pages(db)
        self.milestones = Milestones(db)
        self.outbox = Outbox(db)
        self.breakdowns = Breakdowns(db)

    def transaction(self) -> AbstractContextManager[None]:
        """All or nothing: commit on success, roll back on any exception (nesting joins)."""
        return self.db.transaction()

    def run_lock(self, lock_file: Path | None = None) -> AbstractContextManager[None]:
        """Hold the one-run-at-a-time lock, or raise :class:`~lettermon.errors.LockedError`."""
        return run_lock(self.db, lock_file)

    def vanished(self) -> str | None:
        """Why the database file is no longer there (None while it is)."""
        return self.db.vanished()

    @property
    def directory(self) -> Path | None:
        """The folder of an SQLite database file (None for PostgreSQL or in memory)."""
        return self.db.path.parent if self.db.path is not None else None

    def close(self) -> None:
        self.db.close()


@contextmanager
def open_store(url: str, now: str, *, read_only: bool = False) -> Iterator[Store]:
    """Open the database at ``url``, bring its schema up to date, close it at the end.

    ``read_only`` never writes: the schema must already be this version's.
    """
    db = open_database(url, read_only=read_only)
    try:
        if read_only:
            _check_schema(db)
        else:
            migrate(db, now)
        yield Store(db)
    finally:
        db.close()


def _check_schema(db: Database) -> None:
    version = schema_version(db)
    if version < LATEST:
        raise StoreError(f"the database's schema is version {version}, this lettermon reads "
                         f"version {LATEST}: run lettermon check (which upgrades it) once")
    if version > LATEST:
        raise StoreError(f"the database's schema is version {version}, newer than this "
                         f"lettermon knows ({LATEST}): upgrade lettermon")
