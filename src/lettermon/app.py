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
from typing import TYPE_CHECKING, Any, Literal

from lettermon import clock as clocks
from lettermon.errors import ConfigError, LettermonError, LockedError, NotFound, StoreError
from lettermon.registry import Registry, builtin_registry
from lettermon.settings import LetterSettings, Settings
from lettermon.store import (
    BreakdownView,
    Entry,
    LetterState,
    PollRecord,
    SchemaMode,
    SignatoryView,
    Store,
    open_store,
)

if TYPE_CHECKING:
    import httpx

    from lettermon.announce.announcer import Announcer
    from lettermon.announce.channels.base import Channel
    from lettermon.announce.preview import Preview
    from lettermon.announce.sender import Delivery, Sender
    from lettermon.report.breakdown import Breakdown, By
    from lettermon.report.chart import Chart
    from lettermon.report.chart import Format as ChartFormat
    from lettermon.run.alerts import Alerts
    from lettermon.run.health import Health
    from lettermon.run.worker import StopRequest
    from lettermon.store.copy import CopyProgress, CopyReport
    from lettermon.watch.crawl import Progress
    from lettermon.watch.fetch import Fetcher, HostLimits
    from lettermon.watch.poll import Poller, PollHook, PollReport

log = logging.getLogger(__name__)

ExportKind = Literal["polls", "signatories", "milestones"]

REPORT_CHART = (800, 480)  # the report's chart: large text for a phone's width


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
             stopping: Callable[[], bool] | None = None,
             read_only: bool = False, schema: SchemaMode | None = None,
             hosts: HostLimits | None = None) -> Iterator[App]:
    """The application for these settings: the store opened, everything closed at the end.

    ``read_only`` opens the database without writing anything (the commands that only
    read work on a read-only file or file system); the schema must be up to date. Else
    ``schema`` says what to do with an older schema; by default an SQLite database is
    upgraded in passing, while a PostgreSQL one (shared by several processes) is only set
    up when fresh and otherwise waits for ``lettermon db upgrade``. ``hosts`` shares the
    per-host request limits between apps (a worker's threads).
    """
    wiring = wiring or Wiring()
    if read_only:
        schema = "read"
    elif schema is None:
        schema = "upgrade" if settings.database_url.startswith("sqlite") else "create"
    with open_store(settings.database_url, clocks.iso(wiring.clock()),
                    schema=schema) as store:
        app = App(settings, store, wiring, progress=progress, stopping=stopping, hosts=hosts)
        try:
            yield app
        finally:
            app.close()


def schema_status(settings: Settings) -> tuple[int, int]:
    """``lettermon db status``: (the database's schema version, this lettermon's)."""
    from lettermon.store import schema_status as status

    return status(settings.database_url)


def upgrade(settings: Settings, wiring: Wiring | None = None) -> tuple[int, int]:
    """``lettermon db upgrade``: (version before, after); workers wait while it runs."""
    from lettermon.store import upgrade as apply

    return apply(settings.database_url, clocks.iso((wiring or Wiring()).clock()))


def health(settings: Settings, wiring: Wiring | None = None) -> Health:
    """``lettermon health``: read-only, and an answer even before the first poll."""
    with open_app(settings, wiring, read_only=True) as app:
        return app.health()


def _country_lookup() -> Callable[[str], tuple[str | None, str | None]]:
    """A typed country → (ISO 3166 code, name), remembered for the distinct spellings of
    one export (at most 10,000 of them)."""
    from lettermon.report.countries import normalise_country

    @functools.lru_cache(maxsize=10_000)
    def lookup(raw: str) -> tuple[str | None, str | None]:
        if not raw.strip():
            return None, None
        found = normalise_country(raw)
        return found.code, found.name
    return lookup


def copy_database(source_url: str, target_url: str, wiring: Wiring | None = None, *,
                  progress: CopyProgress | None = None, source_lock: Path | None = None,
                  target_lock: Path | None = None) -> CopyReport:
    """``lettermon copy-db``: copy a whole history into an empty database and verify it.

    Needs no settings: the two URLs are all it takes (and the lock files of a configured
    database, when they are not beside it). See :func:`lettermon.store.copy.copy_database`;
    a report whose ``ok`` is false was rolled back.
    """
    from lettermon.store.copy import copy_database as copy

    now = clocks.iso((wiring or Wiring()).clock())
    return copy(source_url, target_url, now, progress=progress, source_lock=source_lock,
                target_lock=target_lock)


class App:
    """One configured lettermon: the library API over the store, poller and sender."""

    def __init__(self, settings: Settings, store: Store, wiring: Wiring, *,
                 progress: Callable[[str], Progress | None] | None = None,
                 stopping: Callable[[], bool] | None = None,
                 hosts: HostLimits | None = None) -> None:
        self.settings = settings
        self.store = store
        self.wiring = wiring
        self.clock = wiring.clock
        self._progress = progress
        self._stopping = stopping
        self._hosts = hosts
        self._fetchers: dict[Any, Fetcher] = {}
        self._closing = ExitStack()

    def close(self) -> None:
        self._closing.close()

    # -- collaborators, built on first use -------------------------------------------------
    @functools.cached_property
    def fetcher(self) -> Fetcher:
        from lettermon.watch.fetch import Fetcher, make_client

        fetcher = Fetcher(make_client(self.settings.http, self.wiring.transport),
                          self.settings.http, cancel=self._stopping, hosts=self._hosts)
        self._closing.callback(fetcher.close)
        return fetcher

    def fetcher_for(self, letter: LetterSettings) -> Fetcher:
        """The fetcher with the letter's own ``http`` settings (sharing the host limits)."""
        http = self.settings.http_for(letter)
        if http is self.settings.http:
            return self.fetcher
        if http not in self._fetchers:
            from lettermon.watch.fetch import Fetcher, make_client

            fetcher = Fetcher(make_client(http, self.wiring.transport), http,
                              cancel=self._stopping, hosts=self.fetcher.hosts)
            self._closing.callback(fetcher.close)
            self._fetchers[http] = fetcher
        return self._fetchers[http]

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

        return Poller(self.store, self.fetcher_for, self.wiring.registry.adapters,
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
        from lettermon.netguard import NetGuard

        network = self.wiring.registry.channel(settings.kind)
        options = dict(self.wiring.channel_options.get(settings.name, {}))
        context = ChannelContext(self.store.directory or Path("data"), options,
                                 NetGuard(allow_private=self.settings.http.allow_private))
        return network(settings, context, **options)

    def _chart_image(self, entry: Entry) -> tuple[bytes, str] | None:
        """The chart a post carries (PNG, 1200 × 675) and its alt text."""
        try:
            chart = self.chart(entry.letter)
        except LettermonError as exc:  # no matplotlib: post the text alone
            log.warning("posting without a chart: %s", exc)
            return None
        return (chart.image, chart.alt) if chart is not None else None

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

    def poll(self, letter: LetterSettings, *, due_at: str | None = None,
             worker: str | None = None) -> PollReport:
        """Poll one letter now (the caller holds the letter's lease, or the run lock)."""
        return self.poller.poll(letter, due_at=due_at, worker=worker)

    def closed(self, name: str) -> bool:
        """Whether the letter's last successful poll found it closed (polled no more)."""
        state = self.store.letters.get(name)
        return state is not None and state.closed

    def check(self, letters: Sequence[LetterSettings], *, post: bool = True,
              on_report: Callable[[PollReport], None] | None = None,
              skip_closed: bool = True,
              on_closed: Callable[[LetterSettings], None] | None = None) -> Checked:
        """Poll each letter once, then send what is due for them.

        Each letter is claimed first, like a worker claims it: one that another process is
        polling right now is left out (``Checked.busy``). On SQLite the run lock keeps
        other processes out altogether. A closed letter is not polled (``on_closed`` hears
        of it) unless ``skip_closed`` is false.
        """
        from datetime import timedelta

        from lettermon.run.schedule import next_due

        checked = Checked()
        owner = f"check:{_identity()}"
        with self.run_lock():
            if not self.store.shared:  # this process alone: leases found are leftovers
                self.store.leases.clear()
            for letter in letters:
                if skip_closed and self.closed(letter.name):
                    if on_closed is not None:
                        on_closed(letter)
                    continue
                now = self.clock()
                state = self.store.letters.ensure(letter.name, str(letter.url), clocks.iso(now))
                until = clocks.iso(now + timedelta(seconds=self.settings.lease))
                holder = self.store.leases.claim(owner, state.id, clocks.iso(now), until)
                if holder is not None:
                    checked.busy.append((letter.name, holder))
                    continue
                next_time = None
                try:
                    report = self.poll(letter, worker=owner)
                    next_time = next_due(letter, None, self.clock())
                finally:
                    self.store.leases.release(owner, state.id, next_time)
                checked.reports.append(report)
                if on_report is not None:
                    on_report(report)
            if post:
                try:
                    checked.deliveries = self.send_due({letter.name for letter in letters})
                except LockedError as exc:  # another process is sending: it sends these too
                    log.info("%s", exc)
            self.prune(letters)
        return checked

    def accept(self, name: str) -> PollRecord:
        """An operator says the fall the page shows is real: the next poll believes it.

        Returns the suspect poll being accepted; NotFound when the letter's last poll is
        not a suspect one (there is nothing to accept).
        """
        from lettermon.models import Outcome

        state = self.state(name)
        last = self.store.polls.latest(state.id)
        if last is None or last.outcome is not Outcome.SUSPECT:
            outcome = last.outcome if last else "none"
            raise NotFound(f"nothing to accept: the last poll of {name} is {outcome}, not "
                           "suspect")
        with self.store.transaction():
            self.store.letters.update(state.id, accept_drop=1)
        return last

    def prune(self, letters: Sequence[LetterSettings] | None = None) -> int:
        """Let go of stored pages older than each letter's ``keep_pages``; how many went."""
        from datetime import timedelta

        pruned = 0
        now = self.clock()
        for letter in letters if letters is not None else self.settings.letters:
            state = self.store.letters.get(letter.name)
            if state is None:
                continue
            before = clocks.iso(now - timedelta(seconds=letter.keep_pages))
            with self.store.transaction():
                pruned += self.store.pages.prune(state.id, before=before)
        if pruned:
            log.info("let go of %d stored page(s) past their keep_pages", pruned)
        return pruned

    def history(self, name: str, *, limit: int | None = None) -> list[PollRecord]:
        """Every finished poll of the letter, oldest first (the last ``limit``); none
        before its first poll."""
        self.settings.letter(name)  # a clear error for a name not in the config
        state = self.store.letters.get(name)
        return self.store.polls.history(state.id, limit=limit) if state else []

    def signatories(self, name: str, *, since: str | None = None,
                    present: bool = False) -> Iterator[SignatoryView]:
        """Signatories in the order first seen, streamed; none before its first poll, and
        a ConfigError for a letter that lists nobody."""
        letter = self.settings.letter(name)
        state = self.store.letters.get(name)
        if state is None:
            return iter(())
        if state.count_only or letter.count_only:
            raise ConfigError(f"{name} lists no signatories: its page gives a count only "
                              f"(see lettermon history {name})")
        return self.store.signatories.listing(state.id, since=since,
                                              include_removed=not present)

    def counts_by(self, name: str, dimension: str) -> BreakdownView:
        """The latest counts of the letter by ``dimension`` (country, constituency...), as
        its source gives them; NotFound naming the dimensions there are."""
        state = self.state(name)
        view = self.store.breakdowns.latest(state.id, dimension)
        if view is None:
            known = ", ".join(self.store.breakdowns.dimensions(state.id))
            raise NotFound(f"{name} has no breakdown by {dimension} "
                           + (f"(it has: {known})" if known else
                              "(its source gives none)"))
        return view

    def title(self, name: str) -> str:
        """The letter's title: the config's as written, else the page's, cleaned like a
        signatory's name, else the letter's name."""
        letter = self.settings.letter(name)
        if letter.title:
            return letter.title
        from lettermon.announce.sanitize import clean_title

        state = self.store.letters.get(name)
        return (clean_title(state.title) if state and state.title else None) or name

    def chart(self, name: str, *, fmt: ChartFormat = "png",
              size: tuple[int, int] | None = None, since: str | None = None,
              text_size: float | None = None) -> Chart | None:
        """The letter's count over time (PNG or SVG, 1200 × 675 unless ``size``) with its
        alt text; None before any successful poll (since ``since``)."""
        from lettermon.report.chart import DEFAULT_SIZE, render, series

        letter = self.settings.letter(name)
        state = self.store.letters.get(name)
        data = series(self.store, state.id, since=since) if state else None
        if data is None:
            return None
        return render(data, title=self.title(name), fmt=fmt, size=size or DEFAULT_SIZE,
                      locale=letter.locale, text_size=text_size)

    def breakdown(self, name: str, by: By, *, present: bool = True) -> Breakdown:
        """The letter's signatories counted by country, role or institution."""
        from lettermon.report.breakdown import breakdown

        views = self.signatories(name, present=present)
        return breakdown(by, (view.fields for view in views))

    def export(self, name: str, what: ExportKind) -> tuple[list[str], Iterator[dict[str, Any]]]:
        """The columns and the rows (streamed: one at a time from the database) of the
        letter's polls, signatories (with the normalised country beside the raw one) or
        milestones (with the links of their posts)."""
        state = self.state(name)
        if what == "polls":
            columns = ["at", "count", "ok", "outcome", "kind", "http_status", "pages", "bytes",
                       "duration_ms", "added", "removed", "crawl", "rows_seen", "error"]
            return columns, ({**{c: getattr(p, c) for c in columns if hasattr(p, c)},
                              "ok": p.outcome.ok} for p in self.store.polls.stream(state.id))
        if what == "milestones":
            from lettermon.models import OutboxStatus, PostKind

            links: dict[int, list[str]] = {}
            for entry in self.store.outbox.entries(name, statuses=(OutboxStatus.SENT,)):
                if entry.kind is PostKind.MILESTONE and entry.milestone is not None:
                    links.setdefault(entry.milestone, []).append(
                        entry.remote_url or entry.remote_id or entry.channel)
            columns = ["milestone", "reached_at", "count", "announced", "posts"]
            return columns, ({"milestone": m, "reached_at": at, "count": count,
                              "announced": announced, "posts": " ".join(links.get(m, []))}
                             for m, at, count, announced in
                             self.store.milestones.reached(state.id))
        fields = self.store.signatories.field_names(state.id)
        country_field = next((f for f in fields if f.lower() == "country"), None)
        columns = []
        for name_ in fields:
            columns.append(name_)
            if name_ == country_field:
                columns += ["country_code", "country_name"]
        columns += ["first_seen", "last_seen", "removed_at"]
        country = _country_lookup()

        def rows() -> Iterator[dict[str, Any]]:
            for view in self.store.signatories.listing(state.id):
                row: dict[str, Any] = dict(view.fields)
                if country_field is not None:
                    row["country_code"], row["country_name"] = country(
                        view.fields.get(country_field, ""))
                row.update(first_seen=view.first_seen, last_seen=view.last_seen,
                           removed_at=view.removed_at)
                yield row
        return columns, rows()

    def export_sqlite(self, path: Path, names: Sequence[str] = ()) -> dict[str, int]:
        """Write a standalone SQLite copy of the history of these letters (all when none is
        named); return the rows written per table."""
        from lettermon.store.export import write_sqlite_copy

        states = [state for letter in self.letters(names)
                  if (state := self.store.letters.get(letter.name)) is not None]
        return write_sqlite_copy(self.store, path, states, _country_lookup())

    def report(self, name: str) -> str:
        """The letter's report page: one self-contained HTML file."""
        from lettermon.report.page import gather, render_page

        letter = self.settings.letter(name)
        try:
            chart = self.chart(name, fmt="svg", size=REPORT_CHART, text_size=14)
        except LettermonError as exc:  # no matplotlib: the page without its chart
            log.warning("report without a chart: %s", exc)
            chart = None
        return render_page(gather(self.store, letter, title=self.title(name),
                                  settings=self.settings.report, now=self.clock(),
                                  chart=chart))

    def publish(self, name: str) -> Path:
        """Rewrite the letter's page and the index in ``[report] dir``, each atomically;
        return the page's path."""
        folder = self.settings.report.dir
        if folder is None:
            raise ConfigError("set [report] dir to the folder the pages go in")
        from lettermon.report.page import write_atomic

        path = folder / "letters" / f"{name}.html"
        write_atomic(path, self.report(name))
        self.publish_index()
        return path

    def publish_index(self) -> Path:
        """Rewrite ``index.html`` in ``[report] dir``: every letter, its count and last
        change."""
        folder = self.settings.report.dir
        if folder is None:
            raise ConfigError("set [report] dir to the folder the pages go in")
        from lettermon import l10n
        from lettermon.report.page import IndexLine, render_index, write_atomic

        lines = []
        for letter in self.settings.letters:
            state = self.store.letters.get(letter.name)
            changed = self.store.polls.last_change(state.id) if state else None
            lines.append(IndexLine(
                name=letter.name, title=self.title(letter.name),
                href=f"letters/{letter.name}.html",
                count=l10n.number(state.last_count, letter.locale)
                if state and state.last_count is not None else "–",
                changed=l10n.date_time(clocks.parse_iso(changed), letter.locale)
                if changed else "–"))
        path = folder / "index.html"
        write_atomic(path, render_index(lines, l10n.date_time(self.clock(), None)))
        return path

    def after_poll(self, letter: LetterSettings, report: PollReport) -> None:
        """What ``run`` does after a poll: with ``[report] dir``, rewrite the pages when a
        successful poll changed something (or the page is missing). A page that cannot be
        written is logged; the poll, already committed, stands."""
        folder = self.settings.report.dir
        if folder is None or not report.ok:
            return
        changed = report.first_run or bool(report.delta or report.added or report.removed)
        if not changed and (folder / "letters" / f"{letter.name}.html").exists():
            return
        try:
            self.publish(letter.name)
        except Exception:  # a page is never worth a failed poll
            log.exception("could not write the report page of %s", letter.name,
                          extra={"letter": letter.name, "event": "report_error"})

    # -- posts -----------------------------------------------------------------------------
    def send_due(self, letters: Collection[str] | None = None) -> list[Delivery]:
        """Send what is due (for these letters only, when given).

        One process sends at a time (LockedError when another one is sending now), so the
        daily caps and spend limits hold across every worker sharing the database.
        """
        due = self.store.outbox.due(clocks.iso(self.clock()))
        if not any(letters is None or entry.letter in letters for entry in due):
            return []  # the common case of a cron check: no channel client is even built
        with self.store.sender_lock() as mine:
            if not mine:
                raise LockedError("another lettermon process is sending the outbox; exiting")
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
        """Be one worker: poll what is due and send what is due, until ``stop`` is set."""
        from lettermon.run.worker import Worker, worker_id
        from lettermon.watch.fetch import HostLimits

        hosts = HostLimits(self.settings.http.per_host)
        settings, wiring, stopping = self.settings, self.wiring, self._stopping

        def session() -> AbstractContextManager[App]:
            return open_app(settings, wiring, stopping=stopping, schema="create", hosts=hosts)

        with self.run_lock(), ExitStack() as running:
            if not self.store.shared:  # this process alone: leases found are leftovers
                self.store.leases.clear()
            observe = None
            if settings.metrics.enabled:
                from lettermon.run.metrics import serve_metrics

                url, now = settings.database_url, self.clock
                server, observe = serve_metrics(
                    lambda: open_store(url, clocks.iso(now()), schema="read"),
                    settings.metrics.host, settings.metrics.port)
                running.callback(server.shutdown)
            letters = [x for x in settings.letters if not self.closed(x.name)]
            for letter in settings.letters:
                if letter not in letters:
                    log.info("%s is closed: not scheduled", letter.name,
                             extra={"letter": letter.name, "event": "closed"})
            worker = Worker(settings, self.store, session, stop,
                            identity=worker_id(settings.worker.id), clock=self.clock,
                            observe_lateness=observe, letters=letters)
            worker.run()
        if worker.failure is not None:
            raise StoreError(f"{worker.failure}; stopped so that nothing more is lost")


@dataclass
class Checked:
    """What ``lettermon check`` did: polls, posts sent, and letters left to another process."""

    reports: list[PollReport] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    busy: list[tuple[str, str]] = field(default_factory=list)
    """(letter, who holds it) for each letter another process was polling."""


def serve(load: Callable[[], Settings], wiring: Wiring | None = None) -> None:
    """``lettermon run``: work until SIGTERM or SIGINT; SIGHUP reloads the config.

    On SIGHUP the worker stops claiming, lets its polls finish, reads the config again and
    goes on with it (letters added or removed, channels changed). A config that does not
    load is reported and the worker goes on with the one it had.
    """
    from lettermon.errors import ConfigError
    from lettermon.run.worker import StopRequest, install_signal_handlers

    stop = StopRequest()
    install_signal_handlers(stop)
    settings = load()
    while True:
        with open_app(settings, wiring, stopping=stop.crawl_must_stop, schema="create") as app:
            app.run(stop)
        if not stop.reload:
            return
        try:
            settings = load()
        except ConfigError as exc:
            log.error("the config was not reloaded, going on with the one loaded before: %s",
                      exc, extra={"event": "reload_failed"})
        else:
            log.info("config reloaded: %d letter(s)", len(settings.letters),
                     extra={"event": "reloaded"})
        stop.reset()


def _identity() -> str:
    import os
    import socket

    return f"{socket.gethostname()}:{os.getpid()}"
