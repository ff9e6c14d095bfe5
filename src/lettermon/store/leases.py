"""Due work and leases: which letter is due, and which worker holds it while it polls.

Several workers may share one PostgreSQL database. A worker claims due letters with
``FOR UPDATE SKIP LOCKED`` (two workers never claim the same one, and neither waits for the
other), holds a lease (owner, expiry) while it polls, renews its leases while it lives and
releases each with the letter's next due time. A lease left by a dead worker expires and
the letter is claimed again. Leases live in a table of their own, so renewing them never
waits for a poll's lock on its letter's row. On SQLite, ``BEGIN IMMEDIATE`` serialises the
claims of the one worker there can be.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lettermon.store.db import Database

_CHUNK = 500


@dataclass(frozen=True, slots=True)
class Claimed:
    """A letter a worker now holds: poll it, then release it."""

    letter_id: int
    name: str
    due_at: str | None


@dataclass(frozen=True, slots=True)
class LeaseView:
    name: str
    next_due: str | None
    owner: str | None
    until: str | None


@dataclass(frozen=True, slots=True)
class WorkerView:
    id: str
    host: str
    pid: int
    started_at: str
    beat_at: str
    lease_seconds: float
    stopped_at: str | None


class Leases:
    def __init__(self, db: Database) -> None:
        self._db = db

    def claim_due(self, owner: str, names: Sequence[str], now: str, until: str,
                  limit: int) -> list[Claimed]:
        """Claim up to ``limit`` of these letters that are due and not held by a live lease,
        the longest due first; the caller polls them and releases each.

        Candidates are locked first (``SKIP LOCKED``: another claimer's are passed over),
        then their leases are read again in a statement of their own: every claimer writes a
        lease only while it holds the letter's row lock, so by then any claim made before is
        committed and seen (a lease read in the first statement's snapshot could be stale).
        """
        if limit <= 0 or not names:
            return []
        skip = " FOR UPDATE OF l SKIP LOCKED" if self._db.dialect == "postgresql" else ""
        claimed: list[Claimed] = []
        with self._db.transaction():
            for start in range(0, len(names), _CHUNK):
                chunk = list(names[start:start + _CHUNK])
                marks = ", ".join("?" * len(chunk))
                rows = self._db.all(
                    f"SELECT l.id, l.name, l.next_due FROM letters l "
                    f"LEFT JOIN leases s ON s.letter_id = l.id "
                    f"WHERE l.name IN ({marks}) AND (l.next_due IS NULL OR l.next_due <= ?) "
                    f"AND (s.until IS NULL OR s.until <= ?) "
                    f"ORDER BY l.next_due IS NOT NULL, l.next_due, l.id LIMIT ?{skip}",
                    (*chunk, now, now, limit - len(claimed)))
                held = self._live(owner, [int(r[0]) for r in rows], now)
                for letter_id, name, due in rows:
                    if int(letter_id) in held:
                        continue
                    self._take(int(letter_id), owner, until)
                    claimed.append(Claimed(int(letter_id), str(name), due))
                if len(claimed) >= limit:
                    break
        return claimed

    def claim(self, owner: str, letter_id: int, now: str, until: str) -> str | None:
        """Hold one letter now, due or not; the owner of a live lease on it, if another."""
        skip = " FOR UPDATE SKIP LOCKED" if self._db.dialect == "postgresql" else ""
        with self._db.transaction():
            if self._db.one(f"SELECT id FROM letters WHERE id = ?{skip}", (letter_id,)) is None:
                held = self._db.scalar("SELECT owner FROM leases WHERE letter_id = ?",
                                       (letter_id,))
                return str(held) if held else "a poll in progress"
            holder = self._live(owner, [letter_id], now).get(letter_id)
            if holder is not None:
                return holder
            self._take(letter_id, owner, until)
        return None

    def _live(self, owner: str, letter_ids: list[int], now: str) -> dict[int, str]:
        """Of these (locked) letters, those another owner holds a live lease on."""
        if not letter_ids:
            return {}
        marks = ", ".join("?" * len(letter_ids))
        return {int(i): str(o) for i, o in self._db.all(
            f"SELECT letter_id, owner FROM leases WHERE letter_id IN ({marks}) "
            f"AND owner <> ? AND until > ?", (*letter_ids, owner, now))}

    def _take(self, letter_id: int, owner: str, until: str) -> None:
        self._db.execute(
            "INSERT INTO leases (letter_id, owner, until) VALUES (?, ?, ?) "
            "ON CONFLICT (letter_id) DO UPDATE SET owner = excluded.owner, "
            "until = excluded.until", (letter_id, owner, until))

    def renew(self, owner: str, until: str) -> int:
        """Extend every lease the owner holds; how many it holds."""
        with self._db.transaction():
            cursor = self._db.execute("UPDATE leases SET until = ? WHERE owner = ?",
                                      (until, owner))
        return int(cursor.rowcount or 0)

    def release(self, owner: str, letter_id: int, next_due: str | None) -> None:
        """Let the letter go, and say when it is due next (None: leave it as it is)."""
        with self._db.transaction():
            self._db.execute("DELETE FROM leases WHERE letter_id = ? AND owner = ?",
                             (letter_id, owner))
            if next_due is not None:
                self._db.execute("UPDATE letters SET next_due = ? WHERE id = ?",
                                 (next_due, letter_id))

    def clear(self) -> int:
        """Drop every lease: for the one process an SQLite database can have, any lease
        found is a leftover of a process that died."""
        with self._db.transaction():
            cursor = self._db.execute("DELETE FROM leases")
        return int(cursor.rowcount or 0)

    def release_all(self, owner: str) -> int:
        with self._db.transaction():
            cursor = self._db.execute("DELETE FROM leases WHERE owner = ?", (owner,))
        return int(cursor.rowcount or 0)

    def schedule(self) -> list[LeaseView]:
        """Every letter's next due time and who holds it, by name."""
        return [LeaseView(str(n), d, o, u) for n, d, o, u in self._db.all(
            "SELECT l.name, l.next_due, s.owner, s.until FROM letters l "
            "LEFT JOIN leases s ON s.letter_id = l.id ORDER BY l.name")]


class Workers:
    def __init__(self, db: Database) -> None:
        self._db = db

    def register(self, worker_id: str, host: str, pid: int, now: str,
                 lease_seconds: float) -> None:
        with self._db.transaction():
            self._db.execute(
                "INSERT INTO workers (id, host, pid, started_at, beat_at, lease_seconds) "
                "VALUES (?, ?, ?, ?, ?, ?)", (worker_id, host, pid, now, now, lease_seconds))

    def beat(self, worker_id: str, now: str) -> None:
        with self._db.transaction():
            self._db.execute("UPDATE workers SET beat_at = ? WHERE id = ?", (now, worker_id))

    def stop(self, worker_id: str, now: str) -> None:
        with self._db.transaction():
            self._db.execute("UPDATE workers SET stopped_at = ?, beat_at = ? WHERE id = ?",
                             (now, now, worker_id))

    def since(self, moment: str) -> list[WorkerView]:
        """Workers that beat at or after ``moment``, the oldest first."""
        return [WorkerView(str(i), str(h), int(p), str(s), str(b), float(ls), st)
                for i, h, p, s, b, ls, st in self._db.all(
                    "SELECT id, host, pid, started_at, beat_at, lease_seconds, stopped_at "
                    "FROM workers WHERE beat_at >= ? ORDER BY started_at", (moment,))]

    def forget(self, before: str) -> int:
        """Drop the records of workers not heard of since ``before``."""
        with self._db.transaction():
            cursor = self._db.execute("DELETE FROM workers WHERE beat_at < ?", (before,))
        return int(cursor.rowcount or 0)
