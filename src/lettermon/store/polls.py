"""The polls table: every observation of every letter, failures included."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields
from typing import Any

from lettermon.models import CrawlKind, FailureKind, Outcome
from lettermon.store.db import Database

_SUCCESS = "outcome IN ('ok', 'unchanged')"


@dataclass(frozen=True, slots=True)
class PollRecord:
    at: str
    count: int | None
    outcome: Outcome
    http_status: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    pages: int = 0
    bytes: int = 0
    duration_ms: int = 0
    added: int = 0
    removed: int = 0
    crawl: CrawlKind | None = None
    rows_seen: int | None = None
    error: str | None = None
    kind: FailureKind | None = None
    due_at: str | None = None  # when the schedule wanted this poll (lateness = at - due_at)
    worker: str | None = None  # the worker that polled
    state: str | None = None


_COLUMNS = tuple(f.name for f in fields(PollRecord))
_SELECT = ", ".join(_COLUMNS)


def _record(row: tuple[Any, ...]) -> PollRecord:
    values = dict(zip(_COLUMNS, row, strict=True))
    values["outcome"] = Outcome(values["outcome"])
    if values["crawl"] is not None:
        values["crawl"] = CrawlKind(values["crawl"])
    if values["kind"] is not None:
        values["kind"] = FailureKind(values["kind"])
    return PollRecord(**values)


class Polls:
    def __init__(self, db: Database) -> None:
        self._db = db

    def start(self, letter_id: int, at: str) -> int:
        """A ``running`` poll row, in the poll's transaction; :meth:`finish` completes it."""
        return int(self._db.scalar(
            "INSERT INTO polls (letter_id, at, outcome) VALUES (?, ?, ?) RETURNING id",
            (letter_id, at, Outcome.RUNNING)))

    def finish(self, poll_id: int, record: PollRecord) -> None:
        columns = ", ".join(f"{c} = ?" for c in _COLUMNS)
        values = [getattr(record, c) for c in _COLUMNS]
        self._db.execute(f"UPDATE polls SET {columns} WHERE id = ?", (*values, poll_id))

    def note(self, poll_id: int, text: str) -> None:
        """Add ``text`` to a finished poll's error (a step after the poll that failed)."""
        self._db.execute("UPDATE polls SET error = CASE WHEN error IS NULL THEN ? "
                         "ELSE error || '; ' || ? END WHERE id = ?", (text, text, poll_id))

    def history(self, letter_id: int, *, limit: int | None = None) -> list[PollRecord]:
        """Finished polls, oldest first (the last ``limit`` when given)."""
        sql = (f"SELECT {_SELECT} FROM polls WHERE letter_id = ? AND outcome <> 'running' "
               "ORDER BY id DESC")
        params: tuple[Any, ...] = (letter_id,)
        if limit is not None:
            sql += " LIMIT ?"
            params += (limit,)
        return [_record(row) for row in reversed(self._db.all(sql, params))]

    def stream(self, letter_id: int) -> Iterator[PollRecord]:
        """Every finished poll, oldest first, streamed."""
        for row in self._db.stream(f"SELECT {_SELECT} FROM polls WHERE letter_id = ? "
                                   "AND outcome <> 'running' ORDER BY id", (letter_id,)):
            yield _record(row)

    def latest(self, letter_id: int) -> PollRecord | None:
        """The last finished poll."""
        row = self._db.one(f"SELECT {_SELECT} FROM polls WHERE letter_id = ? AND outcome <> "
                           "'running' ORDER BY id DESC LIMIT 1", (letter_id,))
        return _record(row) if row else None

    def latest_ok(self, letter_id: int) -> PollRecord | None:
        """The last successful poll."""
        row = self._db.one(f"SELECT {_SELECT} FROM polls WHERE letter_id = ? AND {_SUCCESS} "
                           "ORDER BY id DESC LIMIT 1", (letter_id,))
        return _record(row) if row else None

    def first_ok(self, letter_id: int) -> PollRecord | None:
        """The first successful poll that stated a count."""
        row = self._db.one(f"SELECT {_SELECT} FROM polls WHERE letter_id = ? AND {_SUCCESS} "
                           "AND count IS NOT NULL ORDER BY id LIMIT 1", (letter_id,))
        return _record(row) if row else None

    def recent_ok_counts(self, letter_id: int, limit: int) -> list[int]:
        """The counts of the last ``limit`` successful polls, newest first."""
        return [int(r[0]) for r in self._db.all(
            f"SELECT count FROM polls WHERE letter_id = ? AND {_SUCCESS} AND count IS NOT NULL "
            "ORDER BY id DESC LIMIT ?", (letter_id, limit))]

    def any_ok_besides(self, letter_id: int, poll_id: int) -> bool:
        """Whether the letter had a successful poll other than ``poll_id``."""
        return self._db.one(f"SELECT 1 FROM polls WHERE letter_id = ? AND {_SUCCESS} "
                            "AND id <> ? LIMIT 1", (letter_id, poll_id)) is not None

    def ok_counts(self, letter_id: int) -> list[tuple[str, int]]:
        """(time, count) of every successful poll with a count, oldest first."""
        return [(str(r[0]), int(r[1])) for r in self._db.all(
            f"SELECT at, count FROM polls WHERE letter_id = ? AND {_SUCCESS} "
            "AND count IS NOT NULL ORDER BY id", (letter_id,))]

    def timeline(self, letter_id: int, *, since: str | None = None
                 ) -> Iterator[tuple[str, Outcome, int | None]]:
        """(time, outcome, count) of every finished poll, oldest first, streamed."""
        sql = ("SELECT at, outcome, count FROM polls WHERE letter_id = ? "
               "AND outcome <> 'running'")
        params: tuple[Any, ...] = (letter_id,)
        if since is not None:
            sql += " AND at >= ?"
            params += (since,)
        for at, outcome, count in self._db.stream(sql + " ORDER BY id", params):
            yield str(at), Outcome(outcome), None if count is None else int(count)

    def count_at(self, letter_id: int, at: str) -> tuple[str, int] | None:
        """(time, count) of the last successful poll at or before ``at``."""
        row = self._db.one(f"SELECT at, count FROM polls WHERE letter_id = ? AND {_SUCCESS} "
                           "AND count IS NOT NULL AND at <= ? ORDER BY at DESC, id DESC "
                           "LIMIT 1", (letter_id, at))
        return (str(row[0]), int(row[1])) if row else None

    def failures_since(self, letter_id: int, since: str) -> int:
        """How many finished polls since ``since`` did not succeed."""
        return int(self._db.scalar(
            f"SELECT COUNT(*) FROM polls WHERE letter_id = ? AND NOT ({_SUCCESS}) "
            "AND outcome <> 'running' AND at >= ?", (letter_id, since)) or 0)

    def latest_failure(self, letter_id: int) -> PollRecord | None:
        """The last finished poll that did not succeed."""
        row = self._db.one(f"SELECT {_SELECT} FROM polls WHERE letter_id = ? AND NOT "
                           f"({_SUCCESS}) AND outcome <> 'running' ORDER BY id DESC LIMIT 1",
                           (letter_id,))
        return _record(row) if row else None

    def last_change(self, letter_id: int) -> str | None:
        """When a successful poll last saw a count different from the one before it (or
        the first count)."""
        value = self._db.scalar(
            "SELECT MAX(at) FROM (SELECT at, count, LAG(count) OVER (ORDER BY id) AS before "
            f"FROM polls WHERE letter_id = ? AND {_SUCCESS} AND count IS NOT NULL) AS counts "
            "WHERE before IS NULL OR count <> before", (letter_id,))
        return str(value) if value is not None else None

    def failing_streak(self, letter_id: int, *, upto: int | None = None) -> int:
        """How many finished polls in a row, up to poll ``upto`` (inclusive), failed."""
        sql = ("SELECT outcome FROM polls WHERE letter_id = ? AND outcome <> 'running'"
               + (" AND id <= ?" if upto is not None else "") + " ORDER BY id DESC LIMIT ?")
        params: tuple[object, ...] = (letter_id,) if upto is None else (letter_id, upto)
        streak = 0
        for (outcome,) in self._db.all(sql, (*params, 1000)):
            if Outcome(outcome).ok:
                break
            streak += 1
        return streak

    def counts_by_outcome(self) -> list[tuple[str, Outcome, int]]:
        """(letter name, outcome, polls) of every finished poll, for the metrics."""
        return [(str(name), Outcome(outcome), int(n)) for name, outcome, n in self._db.all(
            "SELECT l.name, p.outcome, COUNT(*) FROM polls p JOIN letters l "
            "ON l.id = p.letter_id WHERE p.outcome <> 'running' GROUP BY l.name, p.outcome")]
