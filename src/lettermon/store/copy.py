"""A whole history copied from one database to another (``lettermon copy-db``), verified.

Which tables: every table lettermon's migrations create (:func:`schema_tables`), each after
the tables its foreign keys point at. Which columns: read from both databases at run time
(``PRAGMA table_info``, ``information_schema.columns``), so what a later migration adds is
copied with no change here. Ids are kept; PostgreSQL's identity columns then continue
after the highest one.

Rows are streamed in batches (memory does not grow with the tables) from a snapshot of the
source into one transaction on the target. Before it commits, every table is verified:
equal row counts, and equal fingerprints, a hash of the rows in primary-key order computed
in Python the same way on both sides from the values as the drivers return them. A copy
that fails or differs is rolled back: the target is left as it was.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import struct
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lettermon.errors import CopyRefused, StoreError
from lettermon.store.db import Database, open_database, redacted, same_database, sqlite_file
from lettermon.store.locks import run_lock
from lettermon.store.schema import MIGRATIONS, Migration, migrate, schema_version

log = logging.getLogger(__name__)

CopyProgress = Callable[[str, int, int], None]
"""Told (table, rows copied, rows in all) before a table and after each batch."""

_HISTORY = "letters"  # a target with rows here holds a history: never merged
_VERSIONS = "schema_migrations"  # the target's own rows are replaced by the source's


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: str
    """As the database declares it, lower case: ``integer``, ``bytea``, ``real``, ..."""


@dataclass(frozen=True, slots=True)
class TableCopy:
    """One table's copy, as verified before the commit."""

    name: str
    source_rows: int
    target_rows: int
    source_fingerprint: str
    target_fingerprint: str

    @property
    def same(self) -> bool:
        return (self.source_rows == self.target_rows
                and self.source_fingerprint == self.target_fingerprint)

    @property
    def rows(self) -> int:
        return self.source_rows


@dataclass(frozen=True, slots=True)
class CopyReport:
    """What was copied. When ``ok`` is false nothing was committed."""

    source: str
    target: str
    """Both URLs, without their passwords."""
    tables: tuple[TableCopy, ...]

    @property
    def ok(self) -> bool:
        return all(table.same for table in self.tables)

    @property
    def rows(self) -> int:
        return sum(table.rows for table in self.tables)

    @property
    def differing(self) -> list[str]:
        return [table.name for table in self.tables if not table.same]


class _Differs(Exception):  # private: rolls the target back, never escapes
    """Raised inside the target's transaction to roll back a copy that does not match."""


# -- which tables, in which order ---------------------------------------------------------

@functools.cache
def schema_tables(migrations: tuple[Migration, ...] = MIGRATIONS) -> tuple[str, ...]:
    """Every table the migrations create, each after the tables its foreign keys name.

    Found by applying the migrations to an empty in-memory database, so a table a later
    migration adds is included without being listed anywhere.
    """
    db = open_database("sqlite://:memory:")
    try:
        migrate(db, "", migrations)
        names = [str(r[0]) for r in db.all(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite_%' ORDER BY rowid")]
        refers = {name: [str(r[2]) for r in db.all(f"PRAGMA foreign_key_list({_q(name)})")]
                  for name in names}
    finally:
        db.close()
    ordered: list[str] = []

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in ordered:
            return
        if name in path:
            raise StoreError(f"the foreign keys of {' → '.join((*path, name))} form a cycle")
        for other in refers[name]:
            if other != name:
                visit(other, (*path, name))
        ordered.append(name)

    for name in names:
        visit(name, ())
    return tuple(ordered)


def _q(identifier: str) -> str:
    """An identifier quoted for both dialects."""
    return '"' + identifier.replace('"', '""') + '"'


# -- what the databases say about a table ------------------------------------------------

def columns(db: Database, table: str) -> list[Column]:
    """The table's columns in their declared order."""
    if db.dialect == "sqlite":
        return [Column(str(r[1]), str(r[2]).lower())
                for r in db.all(f"PRAGMA table_info({_q(table)})")]
    return [Column(str(r[0]), str(r[1]).lower()) for r in db.all(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position",
        (table,))]


def primary_key(db: Database, table: str) -> list[str]:
    """The columns of the table's primary key, in key order (empty if it has none)."""
    if db.dialect == "sqlite":
        keyed = [(int(r[5]), str(r[1])) for r in db.all(f"PRAGMA table_info({_q(table)})")
                 if int(r[5])]
        return [name for _, name in sorted(keyed)]
    return [str(r[0]) for r in db.all(
        "SELECT k.column_name FROM information_schema.table_constraints c "
        "JOIN information_schema.key_column_usage k ON k.constraint_name = c.constraint_name "
        "AND k.table_schema = c.table_schema AND k.table_name = c.table_name "
        "WHERE c.constraint_type = 'PRIMARY KEY' AND c.table_schema = current_schema() "
        "AND c.table_name = ? ORDER BY k.ordinal_position", (table,))]


def _identity_columns(db: Database, table: str) -> list[tuple[str, bool]]:
    """PostgreSQL: (column, is an identity column) of each column a sequence numbers."""
    return [(str(r[0]), r[1] == "YES") for r in db.all(
        "SELECT column_name, is_identity FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = ? "
        "AND (is_identity = 'YES' OR column_default LIKE 'nextval(%')", (table,))]


def _order_by(db: Database, table: str, cols: Sequence[Column]) -> str:
    """Primary-key order (every column for a table without one), the same on both sides:
    PostgreSQL compares text by code point ("C"), as SQLite and Python do, and puts NULLs
    first, as SQLite does."""
    key = primary_key(db, table) or [c.name for c in cols]
    types = {c.name: c.type for c in cols}
    terms = []
    for name in key:
        term = _q(name)
        if db.dialect == "postgresql":
            if types.get(name) in ("text", "character varying", "character"):
                term += ' COLLATE "C"'
            term += " NULLS FIRST"
        terms.append(term)
    return ", ".join(terms)


def _count(db: Database, table: str) -> int:
    return int(db.scalar(f"SELECT COUNT(*) FROM {_q(table)}") or 0)


# -- the fingerprint ----------------------------------------------------------------------

_SINGLE = struct.Struct("f")


class Fingerprint:
    """A hash of a table's rows, in the order given, from the values as Python reads them.

    Values are encoded the same way whichever driver returned them: bytes and memoryview
    alike, booleans as the integers SQLite stores, each text and blob length-prefixed so
    that no two rows encode alike. A column that PostgreSQL keeps as ``real`` (single
    precision) is compared at that precision on both sides.
    """

    def __init__(self, single: Sequence[int] = ()) -> None:
        self._hash = hashlib.blake2b(digest_size=16)
        self._single = frozenset(single)

    def add(self, rows: Sequence[tuple[Any, ...]]) -> None:
        update = self._hash.update
        for row in rows:
            update(b"\x1e".join(_encode(value, i in self._single)
                                for i, value in enumerate(row)))
            update(b"\x1d")

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def _encode(value: Any, single: bool) -> bytes:
    if value is None:
        return b"n"
    if isinstance(value, str):
        data = value.encode("utf-8", "surrogatepass")
        return b"s%d:%b" % (len(data), data)
    if isinstance(value, bool | int):
        return b"i%d" % int(value)
    if isinstance(value, float):
        if single:
            value = _SINGLE.unpack(_SINGLE.pack(value))[0]
        return b"f" + repr(value).encode()
    if isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
        return b"b%d:%b" % (len(data), data)
    text = f"{type(value).__name__}:{value}".encode()  # a type neither side should hold
    return b"o%d:%b" % (len(text), text)


# -- the copy -----------------------------------------------------------------------------

def copy_database(source_url: str, target_url: str, now: str, *,
                  migrations: tuple[Migration, ...] = MIGRATIONS, batch: int = 1000,
                  progress: CopyProgress | None = None, source_lock: Path | None = None,
                  target_lock: Path | None = None) -> CopyReport:
    """Copy every table of the database at ``source_url`` into the empty one at
    ``target_url``, keeping ids, and verify the copy before committing it.

    Both databases are first brought to the schema of ``migrations``. Both run locks are
    held throughout, so no ``check`` or ``run`` writes to either meanwhile. Raises
    :class:`~lettermon.errors.CopyRefused` (nothing written) when the target holds a
    history, both URLs name the same database, the source does not exist or the schemas
    differ; a :class:`~lettermon.errors.StoreError` when the copy fails (rolled back).
    Returns the report, whose ``ok`` is false when a table differs (rolled back too).
    """
    if same_database(source_url, target_url):
        raise CopyRefused("the source and the target are the same database: nothing to copy")
    path = sqlite_file(source_url)
    if path is not None and not path.is_file():
        raise CopyRefused(f"no database at {path} to copy from")
    tables = schema_tables(migrations)
    with ExitStack() as stack:
        source = stack.enter_context(closing(open_database(source_url)))
        target = stack.enter_context(closing(open_database(target_url)))
        stack.enter_context(run_lock(source, source_lock))
        stack.enter_context(run_lock(target, target_lock))
        for db, url in ((source, source_url), (target, target_url)):
            _bring_to(db, url, now, migrations)
        verified: list[TableCopy] = []
        try:
            with source.snapshot(), target.transaction():
                _refuse_a_history(target, tables)
                copied = [_copy_table(source, target, table, batch, progress)
                          for table in tables]
                if target.dialect == "postgresql":
                    _continue_identities(target, tables)
                verified = [_verify(target, table, done)
                            for table, done in zip(tables, copied, strict=True)]
                if not all(table.same for table in verified):
                    raise _Differs
        except _Differs:
            log.info("the copy differs from its source in %s; rolled back",
                     ", ".join(t.name for t in verified if not t.same))
        except StoreError as exc:
            raise StoreError(f"{exc}; nothing was copied: the target was left as it was"
                             ) from exc
    return CopyReport(redacted(source_url), redacted(target_url), tuple(verified))


def _bring_to(db: Database, url: str, now: str, migrations: tuple[Migration, ...]) -> None:
    latest = migrations[-1].version
    version = schema_version(db)
    if version > latest:
        raise CopyRefused(f"the database at {redacted(url)} has schema version {version}, "
                          f"newer than this lettermon knows ({latest}): upgrade lettermon")
    migrate(db, now, migrations)


def _refuse_a_history(target: Database, tables: Sequence[str]) -> None:
    letters = [str(r[0]) for r in target.all(
        f"SELECT name FROM {_q(_HISTORY)} ORDER BY name LIMIT 4")]
    if letters:
        count = _count(target, _HISTORY)
        names = ", ".join(letters[:3]) + (", ..." if count > 3 else "")
        raise CopyRefused(
            f"the target already holds a history ({count} letter{'s' if count != 1 else ''}: "
            f"{names}); copy-db never merges two histories: copy into an empty database")
    for table in tables:
        if table != _VERSIONS and (rows := _count(target, table)):
            raise CopyRefused(f"the target is not empty: its {table} table has {rows} rows; "
                              "copy into an empty database")
    target.execute(f"DELETE FROM {_q(_VERSIONS)}")  # the source's versions, with their dates


@dataclass(frozen=True, slots=True)
class _Copied:
    columns: tuple[Column, ...]
    single: tuple[int, ...]
    source_rows: int
    fingerprint: str


def _copy_table(source: Database, target: Database, table: str, batch: int,
                progress: CopyProgress | None) -> _Copied:
    cols = columns(source, table)
    theirs = {c.name: c for c in columns(target, table)}
    if {c.name for c in cols} != set(theirs):
        only_source = sorted({c.name for c in cols} - set(theirs))
        only_target = sorted(set(theirs) - {c.name for c in cols})
        raise CopyRefused(f"the {table} table differs between the databases (columns only "
                          f"in the source: {only_source or 'none'}, only in the target: "
                          f"{only_target or 'none'})")
    single = tuple(i for i, c in enumerate(cols)
                   if "real" in (c.type if source.dialect == "postgresql" else "",
                                 theirs[c.name].type if target.dialect == "postgresql" else ""))
    flags = tuple(i for i, c in enumerate(cols)
                  if target.dialect == "postgresql" and theirs[c.name].type == "boolean")
    names = ", ".join(_q(c.name) for c in cols)
    overriding = (" OVERRIDING SYSTEM VALUE" if target.dialect == "postgresql"
                  and any(identity for _, identity in _identity_columns(target, table)) else "")
    insert = (f"INSERT INTO {_q(table)} ({names}){overriding} "
              f"VALUES ({', '.join('?' * len(cols))})")
    total = _count(source, table)
    if progress is not None:
        progress(table, 0, total)
    fingerprint = Fingerprint(single)
    done = 0
    with closing(source.stream_batches(f"SELECT {names} FROM {_q(table)} "
                               f"ORDER BY {_order_by(source, table, cols)}",
                               size=batch)) as batches:
        for rows in batches:
            fingerprint.add(rows)
            target.executemany(insert, list(_adapted(rows, flags)) if flags else rows)
            done += len(rows)
            if progress is not None:
                progress(table, done, total)
    log.info("copied %s: %d rows", table, done)
    return _Copied(tuple(cols), single, total, fingerprint.hexdigest())


def _adapted(rows: Sequence[tuple[Any, ...]], flags: Sequence[int]
             ) -> Iterator[tuple[Any, ...]]:
    """Rows for PostgreSQL's boolean columns, which take no integers (SQLite has none)."""
    for row in rows:
        values = list(row)
        for i in flags:
            if isinstance(values[i], int):
                values[i] = bool(values[i])
        yield tuple(values)


def _continue_identities(target: Database, tables: Sequence[str]) -> None:
    """Make PostgreSQL number new rows after the highest id copied (ids were given)."""
    for table in tables:
        for column, identity in _identity_columns(target, table):
            highest = target.scalar(f"SELECT MAX({_q(column)}) FROM {_q(table)}")
            if identity:  # DDL, so a rollback undoes it as well
                target.execute(f"ALTER TABLE {_q(table)} ALTER COLUMN {_q(column)} "
                               f"RESTART WITH {int(highest or 0) + 1}")
            else:
                target.scalar("SELECT setval(pg_get_serial_sequence(?, ?), ?, ?)",
                              (_q(table), column, int(highest or 1), highest is not None))


def _verify(target: Database, table: str, copied: _Copied) -> TableCopy:
    """Read the copy back as the target stores it: its count and its fingerprint."""
    names = ", ".join(_q(c.name) for c in copied.columns)
    theirs = columns(target, table)
    fingerprint = Fingerprint(copied.single)
    with closing(target.stream_batches(f"SELECT {names} FROM {_q(table)} "
                               f"ORDER BY {_order_by(target, table, theirs)}")) as batches:
        for rows in batches:
            fingerprint.add(rows)
    return TableCopy(table, copied.source_rows, _count(target, table), copied.fingerprint,
                     fingerprint.hexdigest())
