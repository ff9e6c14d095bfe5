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
