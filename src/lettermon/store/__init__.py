"""Storage: the only place that knows SQL. SQLite by default, PostgreSQL for bigger set-ups.

:class:`Store` groups the queries by aggregate (``letters``, ``polls``, ``signatories``,
``pages``, ``milestones``, ``outbox``), each a small class whose methods are named for what
they answer. Callers open a transaction with :meth:`Store.transaction` (one poll, one
transaction); :func:`open_store` opens, migrates and closes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from lettermon.store.db import Database, open_database
from lettermon.store.letters import Letters, LetterState
from lettermon.store.locks import run_lock
from lettermon.store.milestones import Milestones
from lettermon.store.outbox import Entry, Outbox
from lettermon.store.pages import Pages
from lettermon.store.polls import PollRecord, Polls
from lettermon.store.schema import migrate
from lettermon.store.signatories import Signatories, SignatoryView

__all__ = ["Database", "Entry", "LetterState", "PollRecord", "SignatoryView", "Store",
           "open_store"]


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

    def transaction(self) -> AbstractContextManager[None]:
        """All or nothing: commit on success, roll back on any exception (nesting joins)."""
        return self.db.transaction()

    def savepoint(self) -> AbstractContextManager[None]:
        """Inside a transaction: a block whose writes are undone alone if it raises."""
        return self.db.savepoint()

    def run_lock(self, lock_file: Path | None = None) -> AbstractContextManager[None]:
        """Hold the one-run-at-a-time lock, or raise :class:`~lettermon.errors.LockedError`."""
        return run_lock(self.db, lock_file)

    @property
    def directory(self) -> Path | None:
        """The folder of an SQLite database file (None for PostgreSQL or in memory)."""
        return self.db.path.parent if self.db.path is not None else None

    def close(self) -> None:
        self.db.close()


@contextmanager
def open_store(url: str, now: str) -> Iterator[Store]:
    """Open the database at ``url``, bring its schema up to date, close it at the end."""
    db = open_database(url)
    try:
        migrate(db, now)
        yield Store(db)
    finally:
        db.close()
