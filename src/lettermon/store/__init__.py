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
from typing import Literal

from lettermon.errors import NoDatabase, SchemaError
from lettermon.store.breakdowns import Breakdowns, BreakdownView
from lettermon.store.db import Database, open_database
from lettermon.store.leases import Leases, Workers
from lettermon.store.letters import Letters, LetterState
from lettermon.store.locks import run_lock, sender_lock
from lettermon.store.milestones import Milestones
from lettermon.store.outbox import Entry, Outbox
from lettermon.store.pages import Pages
from lettermon.store.polls import PollRecord, Polls
from lettermon.store.schema import LATEST, migrate, schema_version
from lettermon.store.signatories import Signatories, SignatoryView

__all__ = ["BreakdownView", "Database", "Entry", "LetterState", "PollRecord", "SchemaMode",
           "SignatoryView", "Store", "open_store", "schema_status", "upgrade"]


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
        self.leases = Leases(db)
        self.workers = Workers(db)
        self.breakdowns = Breakdowns(db)

    def transaction(self) -> AbstractContextManager[None]:
        """All or nothing: commit on success, roll back on any exception (nesting joins)."""
        return self.db.transaction()

    def savepoint(self) -> AbstractContextManager[None]:
        """Inside a transaction: a block whose writes are undone alone if it raises."""
        return self.db.savepoint()

    def run_lock(self, lock_file: Path | None = None) -> AbstractContextManager[None]:
        """Hold the one-run-at-a-time lock, or raise :class:`~lettermon.errors.LockedError`."""
        return run_lock(self.db, lock_file)

    def sender_lock(self) -> AbstractContextManager[bool]:
        """Whether this process may send the outbox now; sending is one at a time."""
        return sender_lock(self.db)

    @property
    def shared(self) -> bool:
        """Whether several processes may use this database at once (PostgreSQL)."""
        return self.db.dialect == "postgresql"

    def vanished(self) -> str | None:
        """Why the database file is no longer there (None while it is)."""
        return self.db.vanished()

    @property
    def directory(self) -> Path | None:
        """The folder of an SQLite database file (None for PostgreSQL or in memory)."""
        return self.db.path.parent if self.db.path is not None else None

    def close(self) -> None:
        self.db.close()


SchemaMode = Literal["upgrade", "create", "read"]
"""``upgrade``: apply every missing migration; ``create``: set up a fresh database, but an
existing one must already have this version's schema; ``read``: never write at all (the
database is opened read-only, and must have this version's schema)."""


@contextmanager
def open_store(url: str, now: str, *, schema: SchemaMode = "upgrade") -> Iterator[Store]:
    """Open the database at ``url``, check or bring its schema up to date, close it."""
    try:
        db = open_database(url, read_only=schema == "read")
    except NoDatabase:  # nothing recorded yet: read an empty history, create no file
        db = open_database("sqlite://:memory:")
        migrate(db, now)
    try:
        if schema == "upgrade":
            migrate(db, now)
        elif schema == "create" and schema_version(db) == 0:
            migrate(db, now)  # a fresh database: nothing to upgrade, nothing to lose
        else:
            check_schema(db)
        yield Store(db)
    finally:
        db.close()


def schema_status(url: str) -> tuple[int, int]:
    """(the database's schema version, this lettermon's), opening it read-only."""
    from lettermon.errors import NoDatabase

    try:
        db = open_database(url, read_only=True)
    except NoDatabase:
        return 0, LATEST
    try:
        return schema_version(db), LATEST
    finally:
        db.close()


def upgrade(url: str, now: str) -> tuple[int, int]:
    """Apply the missing migrations (one migrator at a time); (version before, after)."""
    db = open_database(url)
    try:
        before = schema_version(db)
        if before > LATEST:
            check_schema(db)
        return before, migrate(db, now)
    finally:
        db.close()


def check_schema(db: Database) -> None:
    """Refuse a schema older or newer than this lettermon's, saying what to do."""
    version = schema_version(db)
    if version < LATEST:
        raise SchemaError(f"the database's schema is version {version}, this lettermon needs "
                          f"version {LATEST}: run lettermon db upgrade (once, from one "
                          "process; workers wait for it)")
    if version > LATEST:
        raise SchemaError(f"the database's schema is version {version}, newer than this "
                          f"lettermon knows ({LATEST}): upgrade lettermon")
