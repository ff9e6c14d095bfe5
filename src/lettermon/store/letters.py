"""The letters table: one row per watched letter, with what its next poll needs to know."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lettermon.models import ListOrder, is_closed
from lettermon.store.db import Database

_COLUMNS = ("id, name, list_order, per_page, etag, last_modified, page1_digest, "
            "last_count, present, last_full_crawl, title, url, accept_drop, count_only, "
            "source_state")


@dataclass(frozen=True, slots=True)
class LetterState:
    id: int
    name: str
    list_order: ListOrder
    per_page: int | None
    etag: str | None
    last_modified: str | None
    page1_digest: str | None
    last_count: int | None
    present: int
    last_full_crawl: str | None
    title: str | None = None
    url: str | None = None
    accept_drop: bool = False
    """An operator said the page's next count is to be believed, however far it fell."""
    count_only: bool = False
    """The letter lists nobody: its source gives a count alone."""
    source_state: str | None = None
    """The letter's state as its source last stated it ("open", "closed", ...)."""

    @property
    def closed(self) -> bool:
        """The letter takes no more signatures: it is polled no more."""
        return is_closed(self.source_state)


def _state(row: tuple[Any, ...] | None) -> LetterState | None:
    if row is None:
        return None
    values = list(row)
    values[2] = ListOrder(values[2])
    values[12] = bool(values[12])
    values[13] = bool(values[13])
    return LetterState(*values)


class Letters:
    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, name: str) -> LetterState | None:
        return _state(self._db.one(f"SELECT {_COLUMNS} FROM letters WHERE name = ?", (name,)))

    def by_id(self, letter_id: int) -> LetterState | None:
        return _state(self._db.one(f"SELECT {_COLUMNS} FROM letters WHERE id = ?",
                                   (letter_id,)))

    def ensure(self, name: str, url: str, now: str) -> LetterState:
        """The letter's row, created on its first poll."""
        state = self.get(name)
        if state is None:
            with self._db.transaction():
                self._db.execute(
                    "INSERT INTO letters (name, url, created_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (name) DO NOTHING", (name, url, now))
            state = self.get(name)
            if state is None:  # pragma: no cover - the insert above just made it
                raise LookupError(name)
        return state

    def lock(self, letter_id: int) -> LetterState:
        """Read the letter inside the caller's transaction, locking its row.

        On PostgreSQL the row stays locked until the transaction ends, so a second writer
        waits instead of losing an update; SQLite's ``BEGIN IMMEDIATE`` already holds the
        database's write lock.
        """
        lock = " FOR UPDATE" if self._db.dialect == "postgresql" else ""
        state = _state(self._db.one(f"SELECT {_COLUMNS} FROM letters WHERE id = ?{lock}",
                                    (letter_id,)))
        if state is None:  # pragma: no cover - letters are never deleted
            raise LookupError(letter_id)
        return state

    def update(self, letter_id: int, **values: Any) -> None:
        if not values:
            return
        # flags are INTEGER columns (PostgreSQL does not cast a boolean to one)
        values = {k: int(v) if isinstance(v, bool) else v for k, v in values.items()}
        columns = ", ".join(f"{key} = ?" for key in values)
        self._db.execute(f"UPDATE letters SET {columns} WHERE id = ?",
                         (*values.values(), letter_id))

    def last_counts(self) -> list[tuple[str, int | None, str | None]]:
        """(name, last confirmed count, time of the last successful poll) of every letter."""
        return [(str(r[0]), r[1], r[2]) for r in self._db.all(
            "SELECT l.name, l.last_count, (SELECT MAX(at) FROM polls p WHERE "
            "p.letter_id = l.id AND p.outcome IN ('ok', 'unchanged')) FROM letters l "
            "ORDER BY l.name")]
