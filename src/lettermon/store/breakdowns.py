"""Counts by dimension (country, constituency, ...) as a letter's source gives them.

Stored compactly: a poll writes a dimension's counts only when they differ from the latest
stored ones (compared by digest), so an unchanged petition polled every five minutes adds
nothing, and the history of a dimension is the list of its changes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from lettermon.models import Breakdown
from lettermon.store.db import Database


@dataclass(frozen=True, slots=True)
class BreakdownView:
    """One stored breakdown: when it was seen first and the counts, largest first."""

    dimension: str
    poll_id: int
    at: str
    items: Breakdown

    @property
    def total(self) -> int:
        return sum(count for _, count in self.items)


def _encode(items: Breakdown) -> tuple[str, str]:
    ordered = sorted(items, key=lambda item: (-item[1], item[0]))
    data = json.dumps([[name, count] for name, count in ordered], ensure_ascii=False,
                      separators=(",", ":"))
    return data, hashlib.blake2b(data.encode("utf-8"), digest_size=16).hexdigest()


class Breakdowns:
    def __init__(self, db: Database) -> None:
        self._db = db

    def record(self, letter_id: int, poll_id: int, dimension: str, items: Breakdown) -> bool:
        """Store this poll's counts for ``dimension`` unless they equal the latest stored;
        True when a row was written. In the poll's transaction."""
        data, digest = _encode(items)
        latest = self._db.scalar(
            "SELECT digest FROM breakdowns WHERE letter_id = ? AND dimension = ? "
            "ORDER BY id DESC LIMIT 1", (letter_id, dimension))
        if latest == digest:
            return False
        self._db.execute(
            "INSERT INTO breakdowns (letter_id, poll_id, dimension, data, digest) "
            "VALUES (?, ?, ?, ?, ?)", (letter_id, poll_id, dimension, data, digest))
        return True

    def latest(self, letter_id: int, dimension: str) -> BreakdownView | None:
        """The latest counts stored for ``dimension``, or None if none ever were."""
        row = self._db.one(
            "SELECT b.poll_id, p.at, b.data FROM breakdowns b JOIN polls p ON p.id = b.poll_id "
            "WHERE b.letter_id = ? AND b.dimension = ? ORDER BY b.id DESC LIMIT 1",
            (letter_id, dimension))
        if row is None:
            return None
        items = tuple((str(name), int(count)) for name, count in json.loads(row[2]))
        return BreakdownView(dimension, int(row[0]), str(row[1]), items)

    def dimensions(self, letter_id: int) -> list[str]:
        """The dimensions stored for a letter, in name order."""
        return [str(r[0]) for r in self._db.all(
            "SELECT DISTINCT dimension FROM breakdowns WHERE letter_id = ? ORDER BY dimension",
            (letter_id,))]

    def changes(self, letter_id: int, dimension: str) -> int:
        """How many times the counts of ``dimension`` were stored (each a change)."""
        return int(self._db.scalar(
            "SELECT COUNT(*) FROM breakdowns WHERE letter_id = ? AND dimension = ?",
            (letter_id, dimension)) or 0)
