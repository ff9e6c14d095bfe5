"""Lettermon's queries: letters, polls, signatories and raw pages.

Every write happens inside ``Database.transaction()`` opened by the caller (one poll, one
transaction), so a process killed at any moment leaves the database as it was.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from hashlib import blake2b
from typing import Any

from lettermon.models import Row
from lettermon.store.db import Database

_CHUNK = 500  # parameters per IN (...) query


@dataclass(frozen=True, slots=True)
class LetterState:
    id: int
    name: str
    list_order: str
    per_page: int | None
    etag: str | None
    last_modified: str | None
    page1_digest: str | None
    last_count: int | None
    present: int
    last_full_crawl: str | None


@dataclass(frozen=True, slots=True)
class PollRecord:
    at: str
    count: int | None
    outcome: str
    http_status: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    pages: int = 0
    bytes: int = 0
    duration_ms: int = 0
    added: int = 0
    removed: int = 0
    crawl: str | None = None
    rows_seen: int | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class SignatoryView:
    id: int
    fields: dict[str, str]
    fingerprint: str
    first_seen: str
    last_seen: str
    removed_at: str | None


_LETTER_COLUMNS = ("id, name, list_order, per_page, etag, last_modified, page1_digest, "
                   "last_count, present, last_full_crawl")
_POLL_COLUMNS = ("at, count, outcome, http_status, etag, last_modified, pages, bytes, "
                 "duration_ms, added, removed, crawl, rows_seen, error")


def encode_fields(row: Row) -> str:
    return json.dumps(dict(row.fields), ensure_ascii=False, separators=(",", ":"))


class Store:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- letters ---------------------------------------------------------------------
    def letter(self, name: str) -> LetterState | None:
        row = self.db.one(f"SELECT {_LETTER_COLUMNS} FROM letters WHERE name = ?", (name,))
        return LetterState(*row) if row else None

    def ensure_letter(self, name: str, url: str, now: str) -> LetterState:
        state = self.letter(name)
        if state is None:
            with self.db.transaction():
                self.db.execute(
                    "INSERT INTO letters (name, url, created_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (name) DO NOTHING", (name, url, now))
            state = self.letter(name)
            assert state is not None
        return state

    def update_letter(self, letter_id: int, **values: Any) -> None:
        if not values:
            return
        columns = ", ".join(f"{key} = ?" for key in values)
        self.db.execute(f"UPDATE letters SET {columns} WHERE id = ?",
                        (*values.values(), letter_id))

    # -- polls -----------------------------------------------------------------------
    def start_poll(self, letter_id: int, at: str) -> int:
        return int(self.db.scalar(
            "INSERT INTO polls (letter_id, at, outcome) VALUES (?, ?, 'running') RETURNING id",
            (letter_id, at)))

    def finish_poll(self, poll_id: int, record: PollRecord) -> None:
        values = [getattr(record, c.strip()) for c in _POLL_COLUMNS.split(",")]
        columns = ", ".join(f"{c.strip()} = ?" for c in _POLL_COLUMNS.split(","))
        self.db.execute(f"UPDATE polls SET {columns} WHERE id = ?", (*values, poll_id))

    def polls(self, letter_id: int, *, limit: int | None = None) -> list[PollRecord]:
        """Polls oldest first (the last ``limit`` when given)."""
        sql = (f"SELECT {_POLL_COLUMNS} FROM polls WHERE letter_id = ? AND outcome <> 'running' "
               "ORDER BY id DESC")
        params: tuple[Any, ...] = (letter_id,)
        if limit is not None:
            sql += " LIMIT ?"
            params += (limit,)
        return [PollRecord(*row) for row in reversed(self.db.all(sql, params))]

    # -- signatories -----------------------------------------------------------------
    def multiplicity(self, letter_id: int, fingerprints: Iterable[str]) -> dict[str, int]:
        """How many present signatories carry each fingerprint (absent ones are omitted)."""
        wanted = sorted(set(fingerprints))
        found: dict[str, int] = {}
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start:start + _CHUNK]
            marks = ", ".join("?" * len(chunk))
            for fp, n in self.db.all(
                    f"SELECT fingerprint, COUNT(*) FROM signatories WHERE letter_id = ? "
                    f"AND removed_at IS NULL AND fingerprint IN ({marks}) GROUP BY fingerprint",
                    (letter_id, *chunk)):
                found[fp] = int(n)
        return found

    def add_signatories(self, letter_id: int, rows: Sequence[Row], now: str,
                        poll_id: int) -> None:
        """Insert rows as new signatories, in the order given (oldest first)."""
        self.db.executemany(
            "INSERT INTO signatories (letter_id, fingerprint, fields, first_seen, last_seen, "
            "first_poll) VALUES (?, ?, ?, ?, ?, ?)",
            [(letter_id, row.fingerprint, encode_fields(row), now, now, poll_id) for row in rows])

    # full crawls are staged in a temporary table, then reconciled in SQL, so memory does
    # not grow with the letter's size
    def stage_begin(self) -> None:
        self.db.execute("CREATE TEMPORARY TABLE IF NOT EXISTS crawl_rows "
                        "(ord INTEGER NOT NULL, fingerprint TEXT NOT NULL, fields TEXT NOT NULL)")
        self.db.execute("DELETE FROM crawl_rows")

    def stage_rows(self, first_ord: int, rows: Sequence[Row]) -> None:
        self.db.executemany(
            "INSERT INTO crawl_rows (ord, fingerprint, fields) VALUES (?, ?, ?)",
            [(first_ord + i, row.fingerprint, encode_fields(row)) for i, row in enumerate(rows)])

    def reconcile(self, letter_id: int, now: str, poll_id: int, *, newest_first: bool,
                  apply_removals: bool) -> tuple[int, int]:
        """Compare the staged crawl with what is stored; return (added, removed).

        A row seen k times is matched against k stored signatories with its fingerprint,
        so two identical rows stay two signatories. Removals are applied only when the
        crawl was complete. Both sides are numbered and indexed first, so matching is
        O(n log n) whatever the letter's size.
        """
        db = self.db
        for table in ("crawl_n", "stored_n"):
            db.execute(f"DROP TABLE IF EXISTS {table}")
        db.execute("""CREATE TEMPORARY TABLE crawl_n AS
            SELECT ord, fingerprint, fields,
                   ROW_NUMBER() OVER (PARTITION BY fingerprint ORDER BY ord) AS n
            FROM crawl_rows""")
        db.execute("""CREATE TEMPORARY TABLE stored_n AS
            SELECT id, fingerprint,
                   ROW_NUMBER() OVER (PARTITION BY fingerprint ORDER BY id) AS n
            FROM signatories WHERE letter_id = ? AND removed_at IS NULL""", (letter_id,))
        db.execute("CREATE INDEX crawl_n_match ON crawl_n (fingerprint, n)")
        db.execute("CREATE INDEX stored_n_match ON stored_n (fingerprint, n)")
        order = "DESC" if newest_first else "ASC"
        db.execute(f"""
            INSERT INTO signatories (letter_id, fingerprint, fields, first_seen, last_seen,
                                     first_poll)
            SELECT ?, c.fingerprint, c.fields, ?, ?, ?
            FROM crawl_n c
            WHERE NOT EXISTS (SELECT 1 FROM stored_n s
                              WHERE s.fingerprint = c.fingerprint AND s.n = c.n)
            ORDER BY c.ord {order}""", (letter_id, now, now, poll_id))
        added = int(db.scalar("SELECT COUNT(*) FROM signatories WHERE first_poll = ?",
                              (poll_id,)))
        removed = 0
        if apply_removals:
            removed = int(db.scalar("""SELECT COUNT(*) FROM stored_n s WHERE NOT EXISTS
                (SELECT 1 FROM crawl_n c WHERE c.fingerprint = s.fingerprint AND c.n = s.n)"""))
            if removed:
                db.execute("""UPDATE signatories SET removed_at = ?, removed_poll = ?
                    WHERE id IN (SELECT s.id FROM stored_n s WHERE NOT EXISTS
                        (SELECT 1 FROM crawl_n c
                         WHERE c.fingerprint = s.fingerprint AND c.n = s.n))""",
                           (now, poll_id))
            db.execute("UPDATE signatories SET last_seen = ? WHERE letter_id = ? "
                       "AND removed_at IS NULL", (now, letter_id))
        for table in ("crawl_n", "stored_n"):
            db.execute(f"DROP TABLE {table}")
        db.execute("DELETE FROM crawl_rows")
        return added, removed

    def present_count(self, letter_id: int) -> int:
        return int(self.db.scalar(
            "SELECT COUNT(*) FROM signatories WHERE letter_id = ? AND removed_at IS NULL",
            (letter_id,)))

    def added_in_poll(self, poll_id: int, *, limit: int | None = None) -> list[dict[str, str]]:
        sql = "SELECT fields FROM signatories WHERE first_poll = ? ORDER BY id DESC"
        params: tuple[Any, ...] = (poll_id,)
        if limit is not None:
            sql += " LIMIT ?"
            params += (limit,)
        return [json.loads(r[0]) for r in self.db.all(sql, params)]

    def signatories(self, letter_id: int, *, since: str | None = None,
                    include_removed: bool = True) -> Iterable[SignatoryView]:
        """Signatories in the order first seen (oldest first), streamed."""
        sql = ("SELECT id, fields, fingerprint, first_seen, last_seen, removed_at "
               "FROM signatories WHERE letter_id = ?")
        params: list[Any] = [letter_id]
        if since is not None:
            sql += " AND first_seen >= ?"
            params.append(since)
        if not include_removed:
            sql += " AND removed_at IS NULL"
        cursor = self.db.execute(sql + " ORDER BY first_seen, id", params)
        for row in cursor:
            yield SignatoryView(row[0], json.loads(row[1]), row[2], row[3], row[4], row[5])

    # -- raw pages -------------------------------------------------------------------
    def store_page(self, poll_id: int, page: int, body: bytes) -> None:
        """Keep a fetched page, compressed, once per distinct content."""
        digest = blake2b(body, digest_size=20).hexdigest()
        self.db.execute(
            "INSERT INTO page_blobs (digest, size, body) VALUES (?, ?, ?) "
            "ON CONFLICT (digest) DO NOTHING", (digest, len(body), zlib.compress(body, 1)))
        self.db.execute(
            "INSERT INTO poll_pages (poll_id, page, digest) VALUES (?, ?, ?) "
            "ON CONFLICT (poll_id, page) DO NOTHING", (poll_id, page, digest))

    def page_body(self, poll_id: int, page: int) -> bytes | None:
        row = self.db.one("SELECT b.body FROM poll_pages p JOIN page_blobs b "
                          "ON b.digest = p.digest WHERE p.poll_id = ? AND p.page = ?",
                          (poll_id, page))
        return zlib.decompress(bytes(row[0])) if row else None
