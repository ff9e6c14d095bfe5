"""A one-line progress bar on a terminal, redrawn in place (no dependency, no colour)."""

from __future__ import annotations

import time
from typing import TextIO

from lettermon.watch.crawl import Progress


class ProgressLine:
    def __init__(self, stream: TextIO, *, width: int = 30, every: float = 0.1) -> None:
        self._stream = stream
        self._width = width
        self._every = every
        self._last = 0.0
        self._drawn = False

    def for_letter(self, name: str) -> Progress:
        def advance(done: int, total: int) -> None:
            self._draw(f"reading {name}", done, total, f"page {done:,}/{total:,}")
        return advance

    def for_table(self, name: str) -> Progress:
        """A bar for copying one table's rows."""
        def advance(done: int, total: int) -> None:
            self._draw(f"copying {name}", done, total, f"{done:,}/{total:,} rows")
        return advance

    def _draw(self, label: str, done: int, total: int, tail: str) -> None:
        now = time.monotonic()
        if done < total and now - self._last < self._every:
            return
        self._last = now
        filled = int(self._width * done / total) if total else 0
        bar = "#" * filled + "-" * (self._width - filled)
        self._stream.write(f"\r\x1b[2K{label}: [{bar}] {tail}")
        self._stream.flush()
        self._drawn = True

    def close(self) -> None:
        if self._drawn:
            self._stream.write("\r\x1b[2K")
            self._stream.flush()
