"""The composition root: settings → HTTP client → store → poller (→ channels, outbox).

Nothing in lettermon builds its own clients, settings or connections; everything is
built here, once per command, and closed at the end.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType

import httpx

from lettermon.crawl import Progress
from lettermon.fetch import Fetcher, make_client
from lettermon.poll import Poller
from lettermon.settings import Settings
from lettermon.store import Store, open_database
from lettermon.store.schema import migrate


@dataclass
class App:
    settings: Settings
    store: Store
    fetcher: Fetcher
    poller: Poller
    _closers: list[Callable[[], None]] = field(default_factory=list)

    def __enter__(self) -> App:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        for closer in reversed(self._closers):
            closer()
        self._closers.clear()


def open_store(settings: Settings) -> Store:
    from lettermon import clock

    db = open_database(settings.database_url)
    try:
        migrate(db, clock.iso(clock.now()))
    except Exception:
        db.close()
        raise
    return Store(db)


def build_app(settings: Settings, *, transport: httpx.BaseTransport | None = None,
              progress: Callable[[str], Progress | None] | None = None) -> App:
    store = open_store(settings)
    fetcher = Fetcher(make_client(settings.http, transport), settings.http)
    poller = Poller(store, fetcher, progress=progress)
    return App(settings, store, fetcher, poller, [store.db.close, fetcher.close])
