"""Versioned, named, transactional migrations for both dialects.

Times are stored as ISO 8601 UTC text (``2026-11-30T06:24:07.123456Z``), which sorts as
time and reads the same in SQLite and PostgreSQL.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from lettermon.store.db import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "letters, polls, signatories, pages", (
        """CREATE TABLE letters (
            id {pk},
            name TEXT NOT NULL UNIQUE,
            url TEXT NOT NULL,
            title TEXT,
            list_order TEXT NOT NULL DEFAULT 'unknown',
            per_page INTEGER,
            etag TEXT,
            last_modified TEXT,
            page1_digest TEXT,
            last_count INTEGER,
            present INTEGER NOT NULL DEFAULT 0,
            last_full_crawl TEXT,
            created_at TEXT NOT NULL
        )""",
        """CREATE TABLE polls (
            id {pk},
            letter_id INTEGER NOT NULL REFERENCES letters(id),
            at TEXT NOT NULL,
            count INTEGER,
            outcome TEXT NOT NULL,
            http_status INTEGER,
            etag TEXT,
            last_modified TEXT,
            pages INTEGER NOT NULL DEFAULT 0,
            bytes INTEGER NOT NULL DEFAULT 0,
            duration_ms INTEGER NOT NULL DEFAULT 0,
            added INTEGER NOT NULL DEFAULT 0,
            removed INTEGER NOT NULL DEFAULT 0,
            crawl TEXT,
            rows_seen INTEGER,
            error TEXT
        )""",
        "CREATE INDEX polls_by_letter ON polls (letter_id, id)",
        """CREATE TABLE signatories (
            id {pk},
            letter_id INTEGER NOT NULL REFERENCES letters(id),
            fingerprint TEXT NOT NULL,
            fields TEXT NOT NULL,
            first_seen TEXT NOT NULL,
            last_seen TEXT NOT NULL,
            removed_at TEXT,
            first_poll INTEGER NOT NULL,
            removed_poll INTEGER
        )""",
        "CREATE INDEX signatories_by_fingerprint ON signatories (letter_id, fingerprint)",
        "CREATE INDEX signatories_by_first_seen ON signatories (letter_id, first_seen)",
        "CREATE INDEX signatories_by_poll ON signatories (first_poll)",
        """CREATE TABLE page_blobs (
            digest TEXT PRIMARY KEY,
            size INTEGER NOT NULL,
            body {blob} NOT NULL
        )""",
        """CREATE TABLE poll_pages (
            poll_id INTEGER NOT NULL REFERENCES polls(id),
            page INTEGER NOT NULL,
            digest TEXT NOT NULL REFERENCES page_blobs(digest),
            PRIMARY KEY (poll_id, page)
        )""",
    )),
    Migration(2, "milestones and the outbox ledger", (
        """CREATE TABLE milestones (
            letter_id INTEGER NOT NULL REFERENCES letters(id),
            milestone INTEGER NOT NULL,
            reached_at TEXT NOT NULL,
            poll_id INTEGER NOT NULL,
            count INTEGER NOT NULL,
            announced INTEGER NOT NULL,
            PRIMARY KEY (letter_id, milestone)
        )""",
        """CREATE TABLE outbox (
            id {pk},
            letter_id INTEGER NOT NULL REFERENCES letters(id),
            kind TEXT NOT NULL,
            milestone INTEGER,
            channel TEXT NOT NULL,
            key TEXT NOT NULL UNIQUE,
            status TEXT NOT NULL,
            text TEXT NOT NULL,
            count INTEGER,
            poll_id INTEGER,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT,
            error TEXT,
            remote_id TEXT,
            remote_url TEXT,
            sent_at TEXT,
            cost REAL NOT NULL DEFAULT 0
        )""",
        "CREATE UNIQUE INDEX outbox_once ON outbox (letter_id, kind, milestone, channel)",
        "CREATE INDEX outbox_by_status ON outbox (status, next_attempt_at)",
        "CREATE INDEX outbox_by_channel ON outbox (channel, sent_at)",
    )),
    Migration(3, "the failure kind of each poll", (
        "ALTER TABLE polls ADD COLUMN kind TEXT",
        # Polls failed before kinds were stored: their kind from their outcome and message.
        "UPDATE polls SET kind = 'blocked' WHERE outcome = 'blocked'",
        "UPDATE polls SET kind = 'suspect' WHERE outcome = 'suspect'",
        "UPDATE polls SET kind = 'partial' WHERE outcome = 'partial'",
        "UPDATE polls SET kind = 'layout' WHERE outcome = 'failed' "
        "AND error LIKE 'layout changed%'",
        "UPDATE polls SET kind = 'network' WHERE outcome = 'failed' AND kind IS NULL",
    )),
    Migration(4, "an operator's acceptance of a drop; pages found by content", (
        "ALTER TABLE letters ADD COLUMN accept_drop INTEGER NOT NULL DEFAULT 0",
        "CREATE INDEX poll_pages_by_digest ON poll_pages (digest)",
    )),
    Migration(5, "count-only letters, a letter's state, breakdowns by country and more", (
        "ALTER TABLE letters ADD COLUMN count_only INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE letters ADD COLUMN source_state TEXT",
        "ALTER TABLE polls ADD COLUMN state TEXT",
        # one row per letter, dimension and change: a poll that sees the same counts as
        # the latest row writes nothing
        """CREATE TABLE breakdowns (
            id {pk},
            letter_id INTEGER NOT NULL REFERENCES letters(id),
            poll_id INTEGER NOT NULL REFERENCES polls(id),
            dimension TEXT NOT NULL,
            data TEXT NOT NULL,
            digest TEXT NOT NULL
        )""",
        "CREATE INDEX breakdowns_latest ON breakdowns (letter_id, dimension, id)",
    )),
    Migration(6, "due times, leases and workers, for several workers on one database", (
        "ALTER TABLE letters ADD COLUMN next_due TEXT",
        "CREATE INDEX letters_by_due ON letters (next_due)",
        """CREATE TABLE leases (
            letter_id INTEGER PRIMARY KEY REFERENCES letters(id),
            owner TEXT NOT NULL,
            until TEXT NOT NULL
        )""",
        "CREATE INDEX leases_by_owner ON leases (owner)",
        """CREATE TABLE workers (
            id TEXT PRIMARY KEY,
            host TEXT NOT NULL,
            pid INTEGER NOT NULL,
            started_at TEXT NOT NULL,
            beat_at TEXT NOT NULL,
            lease_seconds REAL NOT NULL,
            stopped_at TEXT
        )""",
        "ALTER TABLE polls ADD COLUMN due_at TEXT",
        "ALTER TABLE polls ADD COLUMN worker TEXT",
    )),
)

LATEST = MIGRATIONS[-1].version
_PG_MIGRATION_LOCK = 0x6C65_7475  # "letu": one migrator at a time on a PostgreSQL server


def _ddl(db: Database, statement: str) -> str:
    if db.dialect == "postgresql":
        return statement.format(pk="BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
                                blob="BYTEA")
    return statement.format(pk="INTEGER PRIMARY KEY", blob="BLOB")


def current_version(db: Database) -> int:
    db.execute("""CREATE TABLE IF NOT EXISTS schema_migrations (
        version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)""")
    return int(db.scalar("SELECT COALESCE(MAX(version), 0) FROM schema_migrations") or 0)


def migrate(db: Database, now: str, migrations: tuple[Migration, ...] = MIGRATIONS) -> int:
    """Apply what is missing in one transaction, one migrator at a time; return the version.

    On PostgreSQL a transaction-scoped advisory lock makes concurrent first starts wait for
    each other (without it two processes race to create the same tables); SQLite's
    ``BEGIN IMMEDIATE`` does the same.
    """
    with db.transaction():
        if db.dialect == "postgresql":
            db.scalar("SELECT pg_advisory_xact_lock(?)", (_PG_MIGRATION_LOCK,))
        version = current_version(db)
        for migration in migrations:
            if migration.version <= version:
                continue
            for statement in migration.statements:
                db.execute(_ddl(db, statement))
            db.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                       (migration.version, migration.name, now))
            log.info("database migrated to version %s (%s)", migration.version, migration.name)
            version = migration.version
    return version


def schema_version(db: Database) -> int:
    """The version of a database this process may not write (0: no schema at all)."""
    if db.dialect == "sqlite":
        exists = db.scalar("SELECT COUNT(*) FROM sqlite_master WHERE name = 'schema_migrations'")
    else:
        exists = db.scalar("SELECT COUNT(*) FROM information_schema.tables "
                           "WHERE table_name = 'schema_migrations'")
    if not exists:
        return 0
    return int(db.scalar("SELECT COALESCE(MAX(version), 0) FROM schema_migrations") or 0)
