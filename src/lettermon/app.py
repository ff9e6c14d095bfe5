"""The composition root and lettermon's library API.

:func:`open_app` builds what a command needs from the settings and the :class:`Wiring`
(the collaborators that come from outside: the registry of channel kinds and adapters,
the clock, an HTTP transport for tests), and closes it all at the end. Nothing else in
lettermon builds its own clients, settings or connections. The methods of :class:`App`
are the library API: the command line calls them, and so do tests and other front-ends.
Collaborators are built on first use, so a read-only command pays only for the store.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lettermon import clock as clocks
from lettermon.errors import LettermonError, NotFound
from lettermon.registry import Registry, builtin_registry
from lettermon.settings import LetterSettings, Settings
from lettermon.store import Entry, LetterState, PollRecord, SignatoryView, Store, open_store

if TYPE_CHECKING:
    import httpx

    from lettermon.announce.announcer import Announcer
    from lettermon.announce.channels.base import Channel
    from lettermon.announce.preview import Preview
    from lettermon.announce.sender import Delivery, Sender
    from lettermon.run.alerts import Alerts
    from lettermon.run.health import Health
    from lettermon.run.worker import StopRequest
    from lettermon.watch.crawl import Progress
    from lettermon.watch.fetch import Fetcher
    from lettermon.watch.poll import Poller, PollHook, PollReport

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Wiring:
    """The collaborators the composition root takes from outside; the defaults are real."""

    registry: Registry = field(default_factory=builtin_registry)
    clock: clocks.Clock = clocks.system_clock
    transport: httpx.BaseTransport | None = None
    """Serves every page request instead of the network (tests)."""
    channel_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Keyword arguments for a channel's class, by channel name (tests)."""
    extra_hooks: tuple[PollHook, ...] = ()
    """Run inside every poll's transaction after lettermon's own hooks, each in a savepoint."""

    def load(self, path: Path) -> Settings:
        """Read and validate the config file with this wiring's registry."""
        from lettermon.settings import load_settings

        return load_settings(path, self.registry.settings_model)


@contextmanager
def open_app(settings: Settings, wiring: Wiring | None = None, *,
             progress: Callable[[str], Progress | None] | None = None,
             stopping: Callable[[], bool] | None = None) -> Iterator[App]:
    """The application for these settings: the store opened, everything closed at the end."""
    wiring = wiring or Wiring()
    with open_store(settings.database_url, clocks.iso(wiring.clock())) as store:
        app = App(settings, store, wiring, progress=progress, stopping=stopping)
        try:
            yield app
        finally:
            app.close()


class App:
    """One configured lettermon: the library API over the store, poller and sender."""

    def __init__(self, settings: Settings, store: Store, wiring: Wiring, *,
                 progress: Callable[[str], Progress | None] | None = None,
                 stopping: Callable[[], bool] | None = None) -> None:
        self.settings = settings
        self.store = store
        self.wiring = wiring
        self.clock = wiring.clock
        self._progress = progress
        self._stopping = stopping
        self._closing = ExitStack()

    def close(self) -> None:
        self._closing.close()

    # -- collaborators, built on first use -------------------------------------------------
    @functools.cached_property
    def fetcher(self) -> Fetcher:
        from lettermon.watch.fetch import Fetcher, make_client

        fetcher = Fetcher(make_client(self.settings.http, self.wiring.transport),
                          self.settings.http)
        self._closing.callback(fetcher.close)
        return fetcher

    @functools.cached_property
    def announcer(self) -> Announcer:
        from lettermon.announce.announcer import Announcer

        return Announcer(self.settings, self.store, self.wiring.registry.channels)

    @functools.cached_property
    def alerts(self) -> Alerts:
        from lettermon.run.alerts import Alerts

        return Alerts(self.settings, self.store)

    @functools.cached_property
    def poller(self) -> Poller:
        from lettermon.watch.poll import Poller

        return Poller(self.store, self.fetcher, self.wiring.registry.adapters,
                      clock=self.clock, progress=self._progress, stopping=self._stopping,
                      hooks=(self.announcer, self.alerts, *self.wiring.extra_hooks),
                      on_hook_failure=self.alerts.after_poll_failed)

    @functools.cached_property
    def sender(self) -> Sender:
        from lettermon.announce.sender import Sender

        sender = Sender(self.store, {c.name: c for c in self.settings.channels},
                        self.wiring.registry.channels, self._build_channel, clock=self.clock,
                        image=self._chart_image, on_give_up=self.alerts.post_given_up)
        self._closing.callback(sender.close)
        return sender

    def _build_channel(self, settings: Any) -> Channel:
        from lettermon.announce.channels.base import ChannelContext

        network = self.wiring.registry.channel(settings.kind)
        options = dict(self.wiring.channel_options.get(settings.name, {}))
        context = ChannelContext(self.store.directory or Path("data"), options)
        return network(settings, context, **options)

    def _chart_image(self, entry: Entry) -> tuple[bytes, str] | None:
        from lettermon.report.chart import render_png

        try:
            return render_png(self.store, entry.letter_id, title=entry.letter)
        except LettermonError as exc:  # no matplotlib: post the text alone
            log.warning("posting without a chart: %s", exc)
            return None

    # -- letters ---------------------------------------------------------------------------
    def letters(self, names: Sequence[str] = ()) -> list[LetterSettings]:
        """The letters named (all of them when none is), as configured."""
        return self.settings.select(names)

    def state(self, name: str) -> LetterState:
        """What is stored of a configured letter; NotFound before its first poll."""
        self.settings.letter(name)  # a clear error for a name not in the config
        state = self.store.letters.get(name)
        if state is None:
            raise NotFound(f"{name} has not been polled yet (run: lettermon check {name})")
        return state

    def warnings(self, name: str) -> list[str]:
        """What in the letter's config does not fit what was read (each ``name_fields``
        entry that matches no field of its rows); empty before its first poll."""
        from lettermon.announce.announcer import unmatched_name_fields

        letter = self.settings.letter(name)
        state = self.store.letters.get(name)
        if state is None or not letter.name_fields:
            return []
        return unmatched_name_fields(letter.name_fields,
                                     self.store.signatories.field_names(state.id))

    def run_lock(self) -> AbstractContextManager[None]:
        """The one-run-at-a-time lock that ``check``, ``post`` and ``run`` hold."""
        return self.store.run_lock(self.settings.lock_file)

    def poll(self, letter: LetterSettings) -> PollReport:
        """Poll one letter now (the caller holds the run lock)."""
        return self.poller.poll(letter)

    def check(self, letters: Sequence[LetterSettings], *, post: bool = True,
              on_report: Callable[[PollReport], None] | None = None
              ) -> tuple[list[PollReport], list[Delivery]]:
        """Poll each letter once under the run lock, then send what is due for them."""
        reports: list[PollReport] = []
        deliveries: list[Delivery] = []
        with self.run_lock():
            for letter in letters:
                report = self.poll(letter)
                reports.append(report)
                if on_report is not None:
                    on_report(report)
            if post:
                deliveries = self.sender.send_due({letter.name for letter in letters})
        return reports, deliveries

    def history(self, name: str, *, limit: int | None = None) -> list[PollRecord]:
        """Every finished poll of the letter, oldest first (the last ``limit``); none
        before its first poll."""
        self.settings.letter(name)  # a clear error for a name not in the config
        state = self.store.letters.get(name)
        return self.store.polls.history(state.id, limit=limit) if state else []

    def signatories(self, name: str, *, since: str | None = None,
                    present: bool = False) -> Iterator[SignatoryView]:
        """Signatories in the order first seen, streamed; none before its first poll."""
        self.settings.letter(name)
        state = self.store.letters.get(name)
        if state is None:
            return iter(())
        return self.store.signatories.listing(state.id, since=since,
                                              include_removed=not present)

    def chart(self, name: str) -> tuple[bytes, str] | None:
        """The letter's count over time as PNG bytes and alt text; None before any history."""
        from lettermon.report.chart import render_png

        self.settings.letter(name)
        state = self.store.letters.get(name)
        return render_png(self.store, state.id, title=name) if state else None

    # -- posts -----------------------------------------------------------------------------
    def send_due(self, letters: Collection[str] | None = None) -> list[Delivery]:
        """Send what is due (for these letters only, when given)."""
        return self.sender.send_due(set(letters) if letters is not None else None)

    def preview(self, letters: Collection[str]) -> list[Preview]:
        """What would go out now on every channel of these letters; sends nothing."""
        from lettermon.announce.preview import preview

        return preview(self.settings, self.store, self.announcer, self.sender,
                       self.wiring.registry.channels, letters, self.clock())

    def outbox(self, name: str | None = None) -> list[Entry]:
        """The ledger of posts, oldest first (of one letter when named)."""
        if name is not None:
            self.settings.letter(name)
        return self.store.outbox.entries(name)

    def retry(self, entry_id: int) -> Entry:
        """Send a failed, given-up or cancelled entry again at the next run."""
        return self.store.outbox.retry(entry_id, clocks.iso(self.clock()))

    def cancel(self, entry_id: int) -> Entry:
        """Never send an entry."""
        return self.store.outbox.cancel(entry_id, clocks.iso(self.clock()))

    # -- unattended ------------------------------------------------------------------------
    def health(self) -> Health:
        from lettermon.run.health import check_health

        return check_health(self.settings, self.store, self.clock())

    def run(self, stop: StopRequest) -> None:
        """Poll every letter on its schedule and send what is due, until ``stop`` is set."""
        from lettermon.run.worker import Worker

        with self.run_lock(), ExitStack() as running:
            if self.settings.metrics.enabled:
                from lettermon.run.metrics import serve_metrics

                url, now = self.settings.database_url, self.clock
                server = serve_metrics(lambda: open_store(url, clocks.iso(now())),
                                       self.settings.metrics.host, self.settings.metrics.port)
                running.callback(server.shutdown)
            Worker(self.settings.letters, self.poll, self.send_due, stop).run()
