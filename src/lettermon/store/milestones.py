"""The milestones table: each threshold a letter reached, once, and whether it was posted."""

from __future__ import annotations

from collections.abc import Iterable

from lettermon.store.db import Database


class Milestones:
    def __init__(self, db: Database) -> None:
        self._db = db

    def highest(self, letter_id: int) -> int:
        """The highest milestone recorded for the letter (0 when none)."""
        return int(self._db.scalar("SELECT COALESCE(MAX(milestone), 0) FROM milestones "
                                   "WHERE letter_id = ?", (letter_id,)) or 0)

    def record(self, letter_id: int, *, silent: Iterable[int], announced: Iterable[int],
               poll_id: int, count: int, at: str) -> None:
        """Record reached milestones; one already recorded stays as it was (once ever)."""
        rows = [(letter_id, m, at, poll_id, count, 0) for m in silent]
        rows += [(letter_id, m, at, poll_id, count, 1) for m in announced]
        self._db.executemany(
            "INSERT INTO milestones (letter_id, milestone, reached_at, poll_id, count, "
            "announced) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (letter_id, milestone) DO NOTHING",
            rows)

    def last_announced_below(self, letter_id: int, milestone: int) -> tuple[str, int] | None:
        """(reached at, count then) of the highest announced milestone below ``milestone``."""
        row = self._db.one("SELECT reached_at, count FROM milestones WHERE letter_id = ? AND "
                           "announced = 1 AND milestone < ? ORDER BY milestone DESC LIMIT 1",
                           (letter_id, milestone))
        return (str(row[0]), int(row[1])) if row else None

    def reached(self, letter_id: int) -> list[tuple[int, str, int, bool]]:
        """(milestone, reached at, count then, announced) of every milestone, lowest first."""
        return [(int(r[0]), str(r[1]), int(r[2]), bool(r[3])) for r in self._db.all(
            "SELECT milestone, reached_at, count, announced FROM milestones "
            "WHERE letter_id = ? ORDER BY milestone", (letter_id,))]
