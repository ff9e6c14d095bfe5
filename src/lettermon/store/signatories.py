"""The signatories table: everyone ever seen on a letter, with when first and last seen.

Rows have no id on the page, so a signatory is its fingerprint; two identical rows are two
signatories. A full crawl is staged in a temporary table and reconciled in SQL, so memory
does not grow with the letter's size.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from lettermon.models import Row
from lettermon.store.db import Database

_CHUNK = 500  # parameters per IN (...) query


@dataclass(frozen=True, slots=True)
class SignatoryView:
    id: int
    fields: dict[str, str]
    fingerprint: str
    first_seen: str
    last_seen: str
    removed_at: str | None


def encode_fields(row: Row) -> str:
    return json.dumps(dict(row.fields), ensure_ascii=False, separators=(",", ":"))


class Signatories:
    def __init__(self, db: Database) -> None:
        self.db = db

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

    def add(self, letter_id: int, rows: Sequence[Row], now: str,
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

    def stage(self, first_ord: int, rows: Sequence[Row]) -> None:
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

    def present(self, letter_id: int) -> int:
        return int(self.db.scalar(
            "SELECT COUNT(*) FROM signatories WHERE letter_id = ? AND removed_at IS NULL",
            (letter_id,)))

    def added_in(self, poll_id: int, *, limit: int | None = None) -> list[dict[str, str]]:
        sql = "SELECT fields FROM signatories WHERE first_poll = ? ORDER BY id DESC"
        params: tuple[Any, ...] = (poll_id,)
        if limit is not None:
            sql += " LIMIT ?"
            params += (limit,)
        return [json.loads(r[0]) for r in self.db.all(sql, params)]

    def listing(self, letter_id: int, *, since: str | None = None,
                include_removed: bool = True) -> Iterator[SignatoryView]:
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

    def field_names(self, letter_id: int, *, sample: int = 50) -> list[str]:
        """The field names the letter's newest rows have, in page order."""
        names: dict[str, None] = {}
        for (fields,) in reversed(self.db.all(
                "SELECT fields FROM signatories WHERE letter_id = ? ORDER BY id DESC LIMIT ?",
                (letter_id, sample))):
            names.update(dict.fromkeys(json.loads(fields)))
        return list(names)

    def recent_fields(self, letter_id: int, *, since: str | None, limit: int
                      ) -> list[dict[str, str]]:
        """The fields of the newest present signatories first seen at or after ``since``."""
        return [json.loads(r[0]) for r in self.db.all(
            "SELECT fields FROM signatories WHERE letter_id = ? AND removed_at IS NULL "
            "AND first_seen >= ? ORDER BY id DESC LIMIT ?", (letter_id, since or "", limit))]
