"""The composition root: settings → HTTP client → store → poller → outbox → channels.

Nothing in lettermon builds its own clients, settings or connections; everything is
built here, once per command, and closed at the end.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from lettermon.alerts import Alerts
from lettermon.announce import Announcer
from lettermon.channels.base import Channel
from lettermon.crawl import Progress
from lettermon.fetch import Fetcher, make_client
from lettermon.outbox import Entry, Ledger
from lettermon.poll import Poller, PollHook
from lettermon.sender import Sender
from lettermon.settings import Settings
from lettermon.store import Store, open_database
from lettermon.store.schema import migrate

log = logging.getLogger(__name__)


@dataclass
class App:
    settings: Settings
    store: Store
    fetcher: Fetcher
    poller: Poller
    ledger: Ledger
    announcer: Announcer
    alerts: Alerts
    sender: Sender
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


def state_dir(settings: Settings, store: Store) -> Path:
    """Where lettermon keeps small state files (Bluesky sessions): beside the database."""
    if store.db.path is not None:
        return store.db.path.parent
    return Path("data")


def channel_factory(settings: Settings, store: Store,
                    overrides: dict[str, dict[str, Any]] | None = None
                    ) -> Callable[[Any], Channel]:
    def build(channel_settings: Any) -> Channel:
        from lettermon.channels import build_channel

        options = dict((overrides or {}).get(channel_settings.name, {}))
        if channel_settings.kind != "console":  # every network channel connects through it
            from lettermon.netguard import NetGuard

            options.setdefault("guard", NetGuard(allow_private=settings.http.allow_private))
        if channel_settings.kind == "bluesky":
            session = state_dir(settings, store) / f"bluesky-{channel_settings.name}.session"
            options.setdefault("session_file", session)
        return build_channel(channel_settings, **options)
    return build


def chart_image(store: Store) -> Callable[[Entry], tuple[bytes, str] | None]:
    def image(entry: Entry) -> tuple[bytes, str] | None:
        from lettermon.chart import render_png
        from lettermon.errors import LettermonError

        try:
            return render_png(store, entry.letter_id, title=entry.letter)
        except LettermonError as exc:  # no matplotlib: post the text alone
            log.warning("posting without a chart: %s", exc)
            return None
    return image


def build_app(settings: Settings, *, transport: httpx.BaseTransport | None = None,
              progress: Callable[[str], Progress | None] | None = None,
              channel_options: dict[str, dict[str, Any]] | None = None,
              extra_hooks: tuple[PollHook, ...] = (),
              stopping: Callable[[], bool] | None = None,
              cancel: Callable[[], bool] | None = None) -> App:
    """Build everything a command needs.

    ``stopping`` tells a long crawl to stop between pages; ``cancel`` tells the fetcher to
    give up a request in flight or a wait before a retry (both raise
    :class:`~lettermon.errors.Interrupted`, and the poll is rolled back).
    """
    store = open_store(settings)
    fetcher = Fetcher(make_client(settings.http, transport), settings.http, cancel=cancel)
    ledger = Ledger(store.db)
    announcer = Announcer(settings, store, ledger)
    alerts = Alerts(settings, store, ledger)
    poller = Poller(store, fetcher, progress=progress, stopping=stopping,
                    hooks=(announcer, alerts, *extra_hooks),
                    deadline=settings.http.poll_deadline)
    sender = Sender(store, ledger, {c.name: c for c in settings.channels},
                    channel_factory(settings, store, channel_options),
                    image=chart_image(store), on_give_up=alerts.post_given_up)
    return App(settings, store, fetcher, poller, ledger, announcer, alerts, sender,
               [store.db.close, fetcher.close, sender.close])
