"""A thin DB-API layer over sqlite3 and psycopg: one SQL dialect, explicit transactions.

SQL in lettermon is written once with ``?`` placeholders and portable types; this module
adapts placeholders and DDL for PostgreSQL. It stays off SQLAlchemy on purpose: a cron
``lettermon check`` must start fast, and the queries are few and fixed.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Generator, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from lettermon.errors import MissingExtra, NoDatabase, StoreError
from lettermon.redact import redact, url_secrets

log = logging.getLogger(__name__)

Dialect = Literal["sqlite", "postgresql"]
Params = Sequence[Any]


class Database:
    """One connection and its dialect. Use :meth:`transaction` for every write."""

    def __init__(self, conn: Any, dialect: Dialect, *, path: Path | None = None,
                 errors: tuple[type[Exception], ...] = (sqlite3.Error,),
                 read_only: bool = False) -> None:
        self._conn = conn
        self.dialect: Dialect = dialect
        self.path = path
        self.read_only = read_only
        self._errors = errors  # the driver's errors; anything else is a bug and surfaces
        self._depth = 0
        self._streams = 0
        self._identity = _identity(path)

    def vanished(self) -> str | None:
        """Why the SQLite file this connection writes to is no longer the one at its path.

        A file deleted or replaced under a running process keeps being written through
        the open descriptor, and everything written is lost when the process ends.
        """
        if self.path is None:
            return None
        now = _identity(self.path)
        if now is None:
            return f"the database file {self.path} was deleted"
        if now != self._identity:
            return f"the database file {self.path} was replaced by another file"
        return None

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

    def stream(self, sql: str, params: Params = (), *, batch: int = 1000
               ) -> Iterator[tuple[Any, ...]]:
        """The rows of a query, ``batch`` at a time: memory stays flat however many rows.

        SQLite's cursor reads rows as they are asked for; on PostgreSQL a server-side
        cursor (``WITH HOLD``, so no transaction stays open) sends them in batches.
        """
        if self.dialect == "sqlite":
            cursor = self.execute(sql, params)
            try:
                while rows := cursor.fetchmany(batch):
                    yield from (tuple(row) for row in rows)
            except self._errors as exc:
                raise _store_error(exc) from exc
            finally:
                cursor.close()
            return
        self._streams += 1
        cursor = self._conn.cursor(name=f"lettermon_stream_{self._streams}", withhold=True)
        cursor.itersize = batch
        try:
            cursor.execute(self._sql(sql), params)
            yield from (tuple(row) for row in cursor)
        except self._errors as exc:
            raise _store_error(exc) from exc
        finally:
            cursor.close()

    def stream_batches(self, sql: str, params: Params = (), *, size: int = 1000
                       ) -> Generator[list[tuple[Any, ...]], None, None]:
        """The rows of a query in lists of at most ``size``, never all of them at once.

        PostgreSQL's client cursors fetch the whole result, so there a server-side cursor
        reads it, which needs a transaction (:meth:`snapshot` or :meth:`transaction`).
        """
        try:
            if self.dialect == "postgresql":
                self._streams += 1
                cursor = self._conn.cursor(name=f"lettermon_batches_{self._streams}")
            else:
                cursor = self._conn.cursor()
            try:
                cursor.execute(self._sql(sql), params)
                while rows := cursor.fetchmany(size):
                    yield [tuple(row) for row in rows]
            finally:
                cursor.close()
        except self._errors as exc:
            raise _store_error(exc) from exc

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """A consistent view for reading many tables: every read inside sees the database
        as it was at the first one, whatever other processes commit meanwhile."""
        self.execute("BEGIN" if self.dialect == "sqlite"
                     else "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        self._depth = 1
        try:
            yield
        finally:
            self._depth = 0
            self._rollback()  # it only read

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


def _identity(path: Path | None) -> tuple[int, int] | None:
    if path is None:
        return None
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def sqlite_file(url: str) -> Path | None:
    """The file of an ``sqlite://`` URL (None for PostgreSQL or an in-memory database)."""
    if not url.startswith("sqlite://"):
        return None
    path_text = url.removeprefix("sqlite://").removeprefix("/")
    return None if path_text in ("", ":memory:") else Path(path_text)


def same_database(first: str, second: str) -> bool:
    """Whether two URLs name the same database (an SQLite file however its path is
    written; a PostgreSQL database by host, port and name, whoever connects)."""
    files = sqlite_file(first), sqlite_file(second)
    if files[0] is not None and files[1] is not None:
        return files[0].resolve() == files[1].resolve()
    return _postgres_identity(first) == _postgres_identity(second) is not None


def _postgres_identity(url: str) -> tuple[str, int, str] | None:
    from urllib.parse import unquote, urlsplit

    if not url.startswith(("postgresql://", "postgres://")):
        return None
    parts = urlsplit(url)
    try:
        port = parts.port or 5432
    except ValueError:
        return None
    user = unquote(parts.username or "")
    name = unquote(parts.path.removeprefix("/")) or user
    return (parts.hostname or "localhost").lower(), port, name


def redacted(url: str) -> str:
    """The URL as it may be shown: a password in it is replaced by ``***``."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    query = [("password=***" if item.lower().startswith("password=") else item)
             for item in parts.query.split("&")] if parts.query else []
    if parts.password is None and "&".join(query) == parts.query:
        return url  # nothing to hide (and an SQLite URL keeps its slashes)
    netloc = parts.netloc
    if parts.password is not None:
        netloc = f"{parts.username}:***@{netloc.rsplit('@', 1)[1]}"
    return urlunsplit(parts._replace(netloc=netloc, query="&".join(query)))


def open_database(url: str, *, read_only: bool = False) -> Database:
    """Open ``sqlite:///relative/path``, ``sqlite:////abs/path``, ``sqlite://:memory:``
    or ``postgresql://user@host/db``.

    ``read_only`` opens without ever writing (no file, folder, WAL or schema is created),
    so the read-only commands work on a read-only file or file system.
    """
    if url.startswith("sqlite://"):
        path_text = url.removeprefix("sqlite://").removeprefix("/")  # as sqlite_file reads it
        if read_only:
            return _open_sqlite_read_only(path_text)
        return _open_sqlite(path_text)
    if url.startswith(("postgresql://", "postgres://")):
        return _open_postgres(url, read_only=read_only)
    raise StoreError(f"unsupported database URL scheme: {url.split(':', 1)[0]}")


def _open_sqlite_read_only(path_text: str) -> Database:
    """Read-only, as SQLite allows: ``mode=ro`` (beside a running writer, it needs the WAL
    index); where that cannot be had because nothing may write here, ``immutable=1``."""
    from urllib.parse import quote

    if path_text in ("", ":memory:"):
        return _open_sqlite(path_text)
    path = Path(path_text)
    if not path.is_file():
        raise NoDatabase(f"no database at {path} yet (lettermon check creates it)")
    target = quote(str(path.resolve()))
    for options in ("mode=ro", "mode=ro&immutable=1"):
        try:
            conn = sqlite3.connect(f"file:{target}?{options}", uri=True, isolation_level=None,
                                   timeout=10.0, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout = 10000")
            conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        except sqlite3.Error as exc:
            error = exc
            continue
        return Database(conn, "sqlite", path=path, read_only=True)
    raise StoreError(f"cannot open SQLite database {path} read-only: {error}")


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


def _open_postgres(url: str, *, read_only: bool = False) -> Database:
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
    if read_only:
        conn.execute("SET default_transaction_read_only = on")
    return Database(conn, "postgresql", errors=(psycopg.Error,), read_only=read_only)
