"""A thin DB-API layer over sqlite3 and psycopg: one SQL dialect, explicit transactions.

SQL in lettermon is written once with ``?`` placeholders and portable types; this module
adapts placeholders and DDL for PostgreSQL. It stays off SQLAlchemy on purpose: a cron
``lettermon check`` must start fast, and the queries are few and fixed.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from lettermon.errors import MissingExtra, StoreError
from lettermon.redact import redact, url_secrets

log = logging.getLogger(__name__)

Dialect = Literal["sqlite", "postgresql"]
Params = Sequence[Any]


class Database:
    """One connection and its dialect. Use :meth:`transaction` for every write."""

    def __init__(self, conn: Any, dialect: Dialect, *, path: Path | None = None,
                 errors: tuple[type[Exception], ...] = (sqlite3.Error,)) -> None:
        self._conn = conn
        self.dialect: Dialect = dialect
        self.path = path
        self._errors = errors  # the driver's errors; anything else is a bug and surfaces
        self._depth = 0

    def _sql(self, sql: str) -> str:
        if self.dialect == "postgresql":  # psycopg's placeholders; a literal % is doubled
            return sql.replace("%", "%%").replace("?", "%s")
        return sql

    def execute(self, sql: str, params: Params = ()) -> Any:
        try:
            return self._conn.execute(self._sql(sql), params)
        except self._errors as exc:
            raise _store_error(exc) from exc

    def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        if not rows:
            return
        try:
            if self.dialect == "sqlite":
                self._conn.executemany(sql, rows)
            else:
                with self._conn.cursor() as cur:
                    cur.executemany(self._sql(sql), rows)
        except self._errors as exc:
            raise _store_error(exc) from exc

    def one(self, sql: str, params: Params = ()) -> tuple[Any, ...] | None:
        row = self.execute(sql, params).fetchone()
        return tuple(row) if row is not None else None

    def scalar(self, sql: str, params: Params = ()) -> Any:
        row = self.one(sql, params)
        return row[0] if row else None

    def all(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self.execute(sql, params).fetchall()]

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All or nothing: commit on success, roll back on any exception (nesting joins)."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self.execute("BEGIN IMMEDIATE" if self.dialect == "sqlite" else "BEGIN")
        self._depth = 1
        try:
            yield
        except BaseException:
            self._depth = 0
            self._rollback()
            raise
        self._depth = 0
        try:
            self.execute("COMMIT")
        except StoreError:
            self._rollback()
            raise

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Inside a transaction: if the block raises, its writes are undone and the rest of
        the transaction goes on (on PostgreSQL, an error would otherwise abort it)."""
        if not self._depth:
            raise StoreError("a savepoint is taken inside a transaction")
        name = f"lettermon_{self._depth}"
        self.execute(f"SAVEPOINT {name}")
        self._depth += 1
        try:
            yield
        except BaseException:
            self._depth -= 1
            self.execute(f"ROLLBACK TO SAVEPOINT {name}")
            self.execute(f"RELEASE SAVEPOINT {name}")
            raise
        self._depth -= 1
        self.execute(f"RELEASE SAVEPOINT {name}")

    def _rollback(self) -> None:
        try:
            if self.dialect == "postgresql" or self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
        except self._errors:  # the original error matters more
            log.exception("rollback failed")

    def close(self) -> None:
        self._conn.close()


def _store_error(exc: Exception) -> StoreError:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if "locked" in text or "busy" in text:
        return StoreError(f"database is busy (another process holds it): {text}")
    return StoreError(f"database error: {text}")


def open_database(url: str) -> Database:
    """Open ``sqlite:///relative/path``, ``sqlite:////abs/path``, ``sqlite://:memory:``
    or ``postgresql://user@host/db``."""
    if url.startswith("sqlite://"):
        return _open_sqlite(url.removeprefix("sqlite://").removeprefix("/"))
    if url.startswith(("postgresql://", "postgres://")):
        return _open_postgres(url)
    raise StoreError(f"unsupported database URL scheme: {url.split(':', 1)[0]}")


def _open_sqlite(path_text: str) -> Database:
    memory = path_text in ("", ":memory:")
    path = None if memory else Path(path_text)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create {path.parent}: {exc.strerror}") from exc
    try:
        conn = sqlite3.connect(
            ":memory:" if path is None else str(path), isolation_level=None, timeout=10.0,
            check_same_thread=False)
        conn.execute("PRAGMA busy_timeout = 10000")
        if path is not None:
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open SQLite database {path}: {exc}") from exc
    return Database(conn, "sqlite", path=path)


def _open_postgres(url: str) -> Database:
    try:
        import psycopg
    except ImportError:
        raise MissingExtra("a PostgreSQL database", "postgres", "psycopg") from None
    try:
        conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.Error as exc:
        # psycopg may quote the URL, or a part of it, when it cannot parse it
        raise StoreError(redact(f"cannot connect to PostgreSQL: {str(exc).strip()}",
                                *url_secrets(url))) from exc
    return Database(conn, "postgresql", errors=(psycopg.Error,))
