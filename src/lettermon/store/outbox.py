"""The outbox ledger: the single source of truth for what was (to be) posted where.

One row per (letter, kind, milestone, channel), created in the transaction of the poll that
reached the milestone; the unique key makes a second row, and so a second post, impossible.
States: pending → sending → sent, or failed (retried later), given_up, cancelled. A row is
marked ``sending`` and committed *before* the network call, so a crash in between is seen
on the next run and resolved without a second post.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from lettermon.errors import LettermonError, NotFound
from lettermon.models import OPEN_STATUSES, OutboxStatus, PostKind
from lettermon.store.db import Database

_COLUMNS = ("o.id, l.name, o.kind, o.milestone, o.channel, o.key, o.status, o.text, o.count, "
            "o.created_at, o.updated_at, o.attempts, o.next_attempt_at, o.error, o.remote_id, "
            "o.remote_url, o.sent_at, o.cost, o.letter_id")


@dataclass(frozen=True, slots=True)
class Entry:
    id: int
    letter: str
    kind: PostKind
    milestone: int | None
    channel: str
    key: str
    status: OutboxStatus
    text: str
    count: int | None
    created_at: str
    updated_at: str
    attempts: int
    next_attempt_at: str | None
    error: str | None
    remote_id: str | None
    remote_url: str | None
    sent_at: str | None
    cost: float
    letter_id: int

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "letter": self.letter, "kind": self.kind, "channel": self.channel,
            "milestone": self.milestone, "count": self.count, "status": self.status,
            "text": self.text, "remote_id": self.remote_id, "remote_url": self.remote_url,
            "attempts": self.attempts, "error": self.error, "created_at": self.created_at,
            "next_attempt_at": self.next_attempt_at, "sent_at": self.sent_at,
            "cost": self.cost,
        }


def _entry(row: tuple[Any, ...]) -> Entry:
    values = list(row)
    values[2], values[6] = PostKind(values[2]), OutboxStatus(values[6])
    return Entry(*values)


def post_key(letter: str, kind: str, milestone: int | None, channel: str, scope: str = "") -> str:
    """A stable key for one post: the same post always gets the same key."""
    raw = f"lettermon\x1f{letter}\x1f{kind}\x1f{milestone}\x1f{channel}\x1f{scope}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


class Outbox:
    def __init__(self, db: Database) -> None:
        self.db = db

    def queue(self, *, letter_id: int, letter: str, kind: PostKind, milestone: int | None,
              channel: str, text: str, count: int | None, poll_id: int | None, at: str,
              scope: str = "") -> bool:
        """Add a post to send; False if this post was queued before (never twice)."""
        key = post_key(letter, kind, milestone, channel, scope)
        cursor = self.db.execute(
            "INSERT INTO outbox (letter_id, kind, milestone, channel, key, status, text, count, "
            "poll_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            (letter_id, kind, milestone, channel, key, OutboxStatus.PENDING, text, count,
             poll_id, at, at))
        return bool(cursor.rowcount)

    def supersede(self, letter_id: int, channel: str, milestone: int, at: str) -> int:
        """Cancel older milestone posts not yet out on this channel: old news now."""
        cursor = self.db.execute(
            "UPDATE outbox SET status = 'cancelled', updated_at = ?, error = ? "
            "WHERE letter_id = ? AND channel = ? AND kind = 'milestone' AND milestone < ? "
            "AND status IN ('pending', 'failed')",
            (at, f"superseded by milestone {milestone:,}", letter_id, channel, milestone))
        return int(cursor.rowcount or 0)

    def entries(self, letter: str | None = None, *,
                statuses: tuple[OutboxStatus, ...] | None = None) -> list[Entry]:
        sql = f"SELECT {_COLUMNS} FROM outbox o JOIN letters l ON l.id = o.letter_id"
        where, params = [], []
        if letter is not None:
            where.append("l.name = ?")
            params.append(letter)
        if statuses:
            where.append(f"o.status IN ({', '.join('?' * len(statuses))})")
            params.extend(statuses)
        if where:
            sql += " WHERE " + " AND ".join(where)
        return [_entry(row) for row in self.db.all(sql + " ORDER BY o.id", params)]

    def entry(self, entry_id: int) -> Entry:
        row = self.db.one(f"SELECT {_COLUMNS} FROM outbox o JOIN letters l "
                          "ON l.id = o.letter_id WHERE o.id = ?", (entry_id,))
        if row is None:
            raise NotFound(f"no outbox entry {entry_id}")
        return _entry(row)

    def due(self, now: str) -> list[Entry]:
        """Entries to send now: open ones whose wait is over, and any left ``sending``."""
        return [e for e in self.entries(statuses=OPEN_STATUSES)
                if e.status is OutboxStatus.SENDING or e.next_attempt_at is None
                or e.next_attempt_at <= now]

    def claim(self, entry: Entry, now: str) -> bool:
        """Mark an entry as being sent (committed before the network call)."""
        with self.db.transaction():
            cursor = self.db.execute(
                "UPDATE outbox SET status = ?, attempts = attempts + 1, updated_at = ? "
                "WHERE id = ? AND status = ?", (OutboxStatus.SENDING, now, entry.id, entry.status))
            return bool(cursor.rowcount)

    def update(self, entry_id: int, now: str, **values: Any) -> None:
        columns = ", ".join(f"{k} = ?" for k in values)
        with self.db.transaction():
            self.db.execute(f"UPDATE outbox SET {columns}, updated_at = ? WHERE id = ?",
                            (*values.values(), now, entry_id))

    def retry(self, entry_id: int, now: str) -> Entry:
        entry = self.entry(entry_id)
        if entry.status not in (OutboxStatus.FAILED, OutboxStatus.GIVEN_UP,
                                OutboxStatus.CANCELLED, OutboxStatus.PENDING):
            raise LettermonError(f"outbox entry {entry_id} is {entry.status}; only failed, "
                                 "given-up, cancelled or pending entries can be retried")
        self.update(entry_id, now, status=OutboxStatus.PENDING, next_attempt_at=None,
                    error=None)
        return self.entry(entry_id)

    def cancel(self, entry_id: int, now: str) -> Entry:
        entry = self.entry(entry_id)
        if entry.status not in (OutboxStatus.PENDING, OutboxStatus.FAILED,
                                OutboxStatus.GIVEN_UP):
            raise LettermonError(f"outbox entry {entry_id} is {entry.status}; it cannot be "
                                 "cancelled")
        self.update(entry_id, now, status=OutboxStatus.CANCELLED, error="cancelled by hand")
        return self.entry(entry_id)

    def sent_since(self, channel: str, since: str) -> list[tuple[str, float]]:
        """(sent at, cost) of the channel's posts sent at or after ``since``, oldest first."""
        return [(r[0], float(r[1])) for r in self.db.all(
            "SELECT sent_at, cost FROM outbox WHERE channel = ? AND status = 'sent' "
            "AND sent_at >= ? ORDER BY sent_at", (channel, since))]

    def counts(self) -> list[tuple[str, OutboxStatus, int]]:
        """(channel, status, entries), for the metrics."""
        return [(str(c), OutboxStatus(s), int(n)) for c, s, n in self.db.all(
            "SELECT channel, status, COUNT(*) FROM outbox GROUP BY channel, status")]
