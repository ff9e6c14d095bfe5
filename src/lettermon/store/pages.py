"""Raw pages as fetched, compressed, stored once per distinct content."""

from __future__ import annotations

import zlib
from hashlib import blake2b

from lettermon.store.db import Database


class Pages:
    def __init__(self, db: Database) -> None:
        self.db = db

    def keep(self, poll_id: int, page: int, body: bytes) -> None:
        """Keep a fetched page, compressed, once per distinct content."""
        digest = blake2b(body, digest_size=20).hexdigest()
        self.db.execute(
            "INSERT INTO page_blobs (digest, size, body) VALUES (?, ?, ?) "
            "ON CONFLICT (digest) DO NOTHING", (digest, len(body), zlib.compress(body, 1)))
        self.db.execute(
            "INSERT INTO poll_pages (poll_id, page, digest) VALUES (?, ?, ?) "
            "ON CONFLICT (poll_id, page) DO NOTHING", (poll_id, page, digest))

    def body(self, poll_id: int, page: int) -> bytes | None:
        row = self.db.one("SELECT b.body FROM poll_pages p JOIN page_blobs b "
                          "ON b.digest = p.digest WHERE p.poll_id = ? AND p.page = ?",
                          (poll_id, page))
        return zlib.decompress(bytes(row[0])) if row else None

    def trim_failed(self, letter_id: int, *, keep: int) -> int:
        """Keep the pages of only the ``keep`` latest failed polls of a letter.

        A failing site can serve a different large error page at every poll; what is kept
        for diagnosis stays within this budget. Returns how many pages were let go.
        """
        rows = self.db.all(
            "SELECT pp.poll_id, pp.page, pp.digest FROM poll_pages pp "
            "JOIN polls p ON p.id = pp.poll_id WHERE p.letter_id = ? "
            "AND p.outcome NOT IN ('ok', 'unchanged', 'running') ORDER BY pp.poll_id DESC",
            (letter_id,))
        kept_polls: list[int] = []
        drop: list[tuple[int, int, str]] = []
        for poll_id, page, digest in rows:
            if poll_id in kept_polls or len(kept_polls) < keep:
                if poll_id not in kept_polls:
                    kept_polls.append(poll_id)
                continue
            drop.append((int(poll_id), int(page), str(digest)))
        self._unlink(drop)
        return len(drop)

    def prune(self, letter_id: int, *, before: str) -> int:
        """Let go of the pages of the letter's polls made before ``before``."""
        drop = [(int(p), int(n), str(d)) for p, n, d in self.db.all(
            "SELECT pp.poll_id, pp.page, pp.digest FROM poll_pages pp "
            "JOIN polls p ON p.id = pp.poll_id WHERE p.letter_id = ? AND p.at < ?",
            (letter_id, before))]
        self._unlink(drop)
        return len(drop)

    def _unlink(self, pages: list[tuple[int, int, str]]) -> None:
        if not pages:
            return
        self.db.executemany("DELETE FROM poll_pages WHERE poll_id = ? AND page = ?",
                            [(poll_id, page) for poll_id, page, _ in pages])
        self.db.executemany(
            "DELETE FROM page_blobs WHERE digest = ? AND NOT EXISTS "
            "(SELECT 1 FROM poll_pages WHERE poll_pages.digest = page_blobs.digest)",
            [(digest,) for digest in sorted({d for _, _, d in pages})])

    def stored_bytes(self, letter_id: int) -> int:
        """The compressed size of every distinct page the letter's polls keep."""
        return int(self.db.scalar(
            "SELECT COALESCE(SUM(LENGTH(b.body)), 0) FROM page_blobs b WHERE b.digest IN "
            "(SELECT pp.digest FROM poll_pages pp JOIN polls p ON p.id = pp.poll_id "
            "WHERE p.letter_id = ?)", (letter_id,)) or 0)

