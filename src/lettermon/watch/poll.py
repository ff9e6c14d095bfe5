"""One poll of one letter: fetch page 1, decide what to read, store it as one transaction.

Failures are outcomes, recorded with their reason and kind; the known count and
signatories are left untouched by anything that is not a clean, consistent read. The
letter's state is read (and on PostgreSQL its row locked) inside the poll's transaction,
so two writers cannot lose each other's updates.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from lettermon import clock as clocks
from lettermon.durations import format_duration
from lettermon.errors import FetchError, LettermonError, ParseError, PollFailure, SuspectCount
from lettermon.models import (
    CrawlKind,
    FailureKind,
    FetchResult,
    ListOrder,
    Outcome,
    ParsedPage,
    is_closed,
)
from lettermon.redact import redact
from lettermon.settings import LetterSettings
from lettermon.store import LetterState, PollRecord, Store
from lettermon.watch.crawl import (
    Classifier,
    FullResult,
    Page,
    Progress,
    Reader,
    full,
    incremental,
)
from lettermon.watch.fetch import Deadline, Fetcher
from lettermon.watch.sources import SourceAdapter, check_media_type, choose

log = logging.getLogger(__name__)

SHOW_NEW = 50  # new signatories kept in a report for display
SUSPECT_ACCEPT_AFTER = 4  # polls in a row showing the same sharp drop make it believable


@dataclass(frozen=True)
class PollReport:
    letter: str
    poll_id: int
    outcome: Outcome
    count: int | None
    previous: int | None
    added: int = 0
    removed: int = 0
    new_signatories: list[dict[str, str]] = field(default_factory=list)
    pages: int = 0
    bytes: int = 0
    duration: float = 0.0
    crawl: CrawlKind | None = None
    http_status: int | None = None
    error: str | None = None
    first_run: bool = False
    kind: FailureKind | None = None
    count_only: bool = False
    state: str | None = None
    restored: int = 0  # signatories marked removed who are on the list again
    after_poll_errors: tuple[str, ...] = ()
    """Steps after the poll that failed (and were undone); the poll itself is stored."""

    @property
    def ok(self) -> bool:
        """The poll read the page cleanly (whatever came after it)."""
        return self.outcome.ok

    @property
    def closed(self) -> bool:
        """A successful poll found the letter closed: it is polled no more."""
        return self.ok and is_closed(self.state)

    @property
    def delta(self) -> int | None:
        if self.count is None or self.previous is None:
            return None
        return self.count - self.previous


def content_digest(parsed: ParsedPage) -> str:
    h = hashlib.blake2b(digest_size=16)
    h.update(str(parsed.count).encode())
    for row in parsed.rows:
        h.update(row.fingerprint.encode())
    if parsed.state is not None:
        h.update(b"\x1estate\x1f" + parsed.state.encode())
    for dimension, items in sorted(parsed.breakdowns.items()):
        h.update(f"\x1e{dimension}\x1f{items!r}".encode())
    return h.hexdigest()


class PollHook(Protocol):
    """Runs inside every poll's transaction, after the poll row is written, in a savepoint
    of its own: if it raises, its own writes are undone and the poll is kept."""

    def after_poll(self, letter: LetterSettings, state: LetterState, poll_id: int,
                   record: PollRecord) -> None: ...


class HookFailed(Protocol):
    """Told, inside the poll's transaction, which steps after the poll failed."""

    def __call__(self, letter: LetterSettings, state: LetterState, poll_id: int, at: str,
                 errors: Sequence[str]) -> None: ...


@dataclass(frozen=True)
class _Page1:
    """Page 1 as fetched before the transaction, and what it says (None for a 304)."""

    fetch: FetchResult
    adapter: SourceAdapter | None = None
    parsed: ParsedPage | None = None


class Poller:
    def __init__(self, store: Store, fetcher: Fetcher | Callable[[LetterSettings], Fetcher],
                 adapters: Mapping[str, type[SourceAdapter]], *,
                 clock: clocks.Clock = clocks.system_clock,
                 progress: Callable[[str], Progress | None] | None = None,
                 hooks: Sequence[PollHook] = (),
                 on_hook_failure: HookFailed | None = None,
                 stopping: Callable[[], bool] | None = None) -> None:
        self._store = store
        self._fetcher_for = fetcher if callable(fetcher) else (lambda _letter: fetcher)
        # the poll under way (a Poller polls one letter at a time; each thread has its own)
        self._fetcher: Fetcher
        self._due_at: str | None = None
        self._worker: str | None = None
        self._adapters = adapters
        self._clock = clock
        self._progress = progress
        self._hooks = tuple(hooks)
        self._on_hook_failure = on_hook_failure
        self._stopping = stopping

    def poll(self, letter: LetterSettings, *, due_at: str | None = None,
             worker: str | None = None) -> PollReport:
        """Poll ``letter`` once; ``due_at`` (when the schedule wanted it) and ``worker``
        (who polls) are recorded with the poll."""
        started = time.monotonic()
        self._fetcher = self._fetcher_for(letter)
        self._due_at, self._worker = due_at, worker
        limit = self._fetcher.settings.poll_deadline
        deadline = Deadline.after(limit, f"the poll's {format_duration(limit)} deadline")
        at = clocks.iso(self._clock())
        # read without a lock, only to choose the conditional GET's validators
        known = self._store.letters.ensure(letter.name, letter.poll_url, at)
        full_due = self._full_crawl_due(letter, known)
        fetched = None
        try:
            fetched = self._fetch_page1(letter, known, full_due, deadline)
            page1 = self._read_page1(letter, fetched)
        except PollFailure as exc:
            return self._failed(letter, known.id, at, started, exc, fetched)
        try:
            with self._store.transaction():
                state = self._store.letters.lock(known.id)
                return self._decide(letter, state, page1, at, started, full_due, deadline)
        except _CrawlFailed as exc:
            reader = exc.reader
            return self._failed(letter, known.id, at, started, exc, reader.first.fetch,
                                count=reader.count, pages=reader.requests, size=reader.bytes)
        except PollFailure as exc:
            count = page1.parsed.count if isinstance(exc, SuspectCount) and page1.parsed else None
            return self._failed(letter, known.id, at, started, exc, fetched, count=count)

    def _fetch_page1(self, letter: LetterSettings, known: LetterState, full_due: bool,
                     deadline: Deadline) -> FetchResult:
        conditional = known.last_count is not None and not full_due
        return self._fetcher.get(
            letter.poll_url, etag=known.etag if conditional else None,
            last_modified=known.last_modified if conditional else None, deadline=deadline)

    def _read_page1(self, letter: LetterSettings, fetched: FetchResult) -> _Page1:
        if fetched.not_modified:
            return _Page1(fetched)
        adapter = choose(letter, fetched.body, fetched.url, self._adapters)
        check_media_type(adapter, fetched.content_type)
        parsed = adapter.parse(fetched.body, fetched.url)
        if parsed.count is None:
            raise ParseError("the page states no signature count")
        return _Page1(fetched, adapter, parsed)

    def _decide(self, letter: LetterSettings, state: LetterState, page1: _Page1, at: str,
                started: float, full_due: bool, deadline: Deadline) -> PollReport:
        """Inside the poll's transaction, on the locked state: unchanged, or read pages."""
        if page1.parsed is None or page1.adapter is None:
            return self._unchanged(letter, state, at, page1.fetch, started)
        parsed = page1.parsed
        self._check_plausible(letter, state, parsed)
        digest = content_digest(parsed)
        if digest == state.page1_digest and (not full_due or parsed.count_only):
            return self._unchanged(letter, state, at, page1.fetch, started, parsed.count)
        if parsed.count_only:
            return self._count_only(letter, state, page1.fetch, parsed, at, started, digest)
        reader = Reader(self._fetcher, page1.adapter, letter.poll_url,
                        Page(1, page1.fetch, parsed), stopping=self._stopping,
                        deadline=deadline)
        return self._crawl(letter, state, reader, at, started, full_due)

    def _keep_breakdowns(self, letter_id: int, poll_id: int, parsed: ParsedPage) -> None:
        """The counts by dimension, each stored only when it changed."""
        for dimension, items in parsed.breakdowns.items():
            self._store.breakdowns.record(letter_id, poll_id, dimension, items)

    def _finish(self, letter: LetterSettings, state: LetterState, poll_id: int,
                record: PollRecord) -> tuple[str, ...]:
        """Store the poll's row, then run each hook in a savepoint of its own; return what
        failed. A hook's failure undoes its own writes only: it is noted on the poll,
        logged with its traceback and passed on to be alerted."""
        store = self._store
        record = replace(record, due_at=self._due_at, worker=self._worker)
        store.polls.finish(poll_id, record)
        errors = []
        for hook in self._hooks:
            step = type(hook).__name__
            try:
                with store.savepoint():
                    hook.after_poll(letter, state, poll_id, record)
            except Exception as exc:  # a bug in a step must not cost the observation
                what = str(exc) if isinstance(exc, LettermonError) \
                    else f"{type(exc).__name__}: {exc}"
                errors.append(redact(f"{step} failed: {what}"))
                log.error("%s: the poll is stored, but after it %s", letter.name, errors[-1],
                          exc_info=exc, extra={"letter": letter.name, "event": "hook_error",
                                               "step": step})
        if errors:
            store.polls.note(poll_id, "after the poll: " + "; ".join(errors))
            self._alert(letter, state, poll_id, record.at, errors)
        return tuple(errors)

    def _alert(self, letter: LetterSettings, state: LetterState, poll_id: int, at: str,
               errors: Sequence[str]) -> None:
        if self._on_hook_failure is None:
            return
        try:
            with self._store.savepoint():
                self._on_hook_failure(letter, state, poll_id, at, errors)
        except Exception as exc:  # noqa: BLE001 - the failure is logged above with its traceback
            log.error("%s: could not alert the operators about it: %s", letter.name, exc,
                      extra={"letter": letter.name, "event": "hook_error"})

    # -- decisions ---------------------------------------------------------------------
    def _full_crawl_due(self, letter: LetterSettings, state: LetterState) -> bool:
        if state.count_only and state.last_count is not None:
            # no list to crawl, every read of the count is a whole read; unless the
            # settings have just been given the list's rows
            return _lists(letter)
        if state.last_full_crawl is None:
            return True
        age = (self._clock() - clocks.parse_iso(state.last_full_crawl)).total_seconds()
        return age >= letter.full_crawl_every

    def _check_plausible(self, letter: LetterSettings, state: LetterState,
                         parsed: ParsedPage) -> None:
        """Refuse to believe a count that would erase history (see the README's "What
        lettermon refuses to believe"): zero never, a fall of more than ``hold_drop`` only
        when an operator accepts it, a smaller sharp fall once polls agree on it."""
        count = parsed.count or 0
        known = state.last_count
        if count == 0 and parsed.rows:
            raise ParseError("the caption says 0 but the list shows signatories")
        if not known or count >= known * (1 - letter.suspect_drop) or state.accept_drop:
            if state.accept_drop and known and count < known:
                log.warning("%s: believing the drop from %s to %s, as an operator accepted",
                            state.name, known, count)
            return
        accept = f"if it is real, run: lettermon accept {letter.name}"
        if count == 0:
            raise SuspectCount(f"the count fell from {known} to 0; {accept}")
        if count < known * (1 - letter.hold_drop):
            raise SuspectCount(f"the count fell sharply, from {known} to {count}, by more than "
                               f"{letter.hold_drop:.0%}; {accept}")
        if not self._drop_confirmed(state, count):
            raise SuspectCount(f"the count fell sharply, from {known} to {count}; believed "
                               f"if {SUSPECT_ACCEPT_AFTER} polls in a row agree")

    def _drop_confirmed(self, state: LetterState, count: int) -> bool:
        """A drop seen on SUSPECT_ACCEPT_AFTER polls in a row is real (a purge of spam)."""
        recent = self._store.polls.history(state.id, limit=SUSPECT_ACCEPT_AFTER - 1)
        confirmed = len(recent) == SUSPECT_ACCEPT_AFTER - 1 and all(
            p.outcome is Outcome.SUSPECT and p.count == count for p in recent)
        if confirmed:
            log.warning("%s: accepting the drop from %s to %s, seen on %d polls in a row",
                        state.name, state.last_count, count, SUSPECT_ACCEPT_AFTER)
        return confirmed

    # -- outcomes ----------------------------------------------------------------------
    def _unchanged(self, letter: LetterSettings, state: LetterState, at: str,
                   result: FetchResult, started: float, count: int | None = None) -> PollReport:
        """Record an unchanged poll, in the caller's transaction."""
        count = state.last_count if count is None else count
        record = PollRecord(
            at=at, count=count, outcome=Outcome.UNCHANGED, http_status=result.status,
            etag=result.etag, last_modified=result.last_modified, pages=1,
            bytes=len(result.body), duration_ms=_ms(started), state=state.source_state)
        poll_id = self._store.polls.start(state.id, at)
        errors = self._finish(letter, state, poll_id, record)
        if (result.etag, result.last_modified) != (state.etag, state.last_modified):
            self._store.letters.update(state.id, etag=result.etag,
                                       last_modified=result.last_modified)
        return PollReport(state.name, poll_id, Outcome.UNCHANGED, count, state.last_count,
                          pages=1, bytes=len(result.body), duration=time.monotonic() - started,
                          http_status=result.status, count_only=state.count_only,
                          state=state.source_state, after_poll_errors=errors)

    def _count_only(self, letter: LetterSettings, state: LetterState, fetched: FetchResult,
                    parsed: ParsedPage, at: str, started: float, digest: str) -> PollReport:
        """A letter with no signatory list: the count (and breakdowns) of one response is
        the whole read. In the caller's transaction."""
        store = self._store
        poll_id = store.polls.start(state.id, at)
        if letter.store_pages:
            store.pages.keep(poll_id, 1, fetched.body)
        record = PollRecord(
            at=at, count=parsed.count, outcome=Outcome.OK, http_status=fetched.status,
            etag=fetched.etag, last_modified=fetched.last_modified, pages=fetched.requests,
            bytes=len(fetched.body), duration_ms=_ms(started), state=parsed.state)
        self._keep_breakdowns(state.id, poll_id, parsed)
        updates: dict[str, object] = {
            "etag": record.etag, "last_modified": record.last_modified,
            "page1_digest": digest, "last_count": record.count, "last_full_crawl": at,
            "count_only": True, "source_state": parsed.state, "accept_drop": 0}
        if parsed.title:
            updates["title"] = parsed.title
        store.letters.update(state.id, **updates)
        errors = self._finish(letter, state, poll_id, record)
        return PollReport(
            letter.name, poll_id, Outcome.OK, parsed.count, state.last_count,
            pages=fetched.requests, bytes=len(fetched.body),
            duration=time.monotonic() - started, http_status=fetched.status,
            first_run=state.last_count is None, count_only=True, state=parsed.state,
            after_poll_errors=errors)

    def _failed(self, letter: LetterSettings, letter_id: int, at: str, started: float,
                exc: PollFailure, first: FetchResult | None, *, count: int | None = None,
                outcome: Outcome | None = None, pages: int | None = None,
                size: int | None = None) -> PollReport:
        """Record a poll that changed nothing, in a transaction of its own."""
        outcome = outcome or _outcome_of(exc)
        reason = _reason(exc)
        if pages is None:
            pages = 1 if first else 0
        if size is None:
            size = len(first.body) if first else 0
        record = PollRecord(
            at=at, count=count, outcome=outcome,
            http_status=exc.status or (first.status if first else None), pages=pages,
            bytes=size, duration_ms=_ms(started), error=reason, kind=exc.kind)
        with self._store.transaction():
            state = self._store.letters.lock(letter_id)
            poll_id = self._store.polls.start(letter_id, at)
            errors = self._finish(letter, state, poll_id, record)
            if first is not None and first.body and letter.store_pages and letter.failed_pages:
                self._store.pages.keep(poll_id, 1, first.body)  # kept for diagnosis
                self._store.pages.trim_failed(letter_id, keep=letter.failed_pages)
        log.info("poll of %s %s: %s", letter.name, outcome, reason)
        return PollReport(letter.name, poll_id, outcome, count, state.last_count,
                          pages=pages, bytes=size, duration=time.monotonic() - started,
                          http_status=record.http_status, error=reason, kind=exc.kind,
                          after_poll_errors=errors)

    def _crawl(self, letter: LetterSettings, state: LetterState, reader: Reader, at: str,
               started: float, full_due: bool) -> PollReport:
        """Read the pages needed, in the caller's transaction (a failure rolls it back)."""
        store = self._store
        try:
            poll_id = store.polls.start(state.id, at)
            if letter.store_pages:  # each page as it is read: memory stays flat

                def keep(page: Page) -> None:
                    store.pages.keep(poll_id, page.number, page.fetch.body)
                keep(reader.first)
                reader.on_page = keep
            read = self._read(letter, state, reader, poll_id, at, full_due)
            record = self._record(reader, read, at, started)
            if record.outcome is Outcome.OK:
                self._keep_breakdowns(state.id, poll_id, reader.first.parsed)
            self._update_letter(state, reader, read, record)
            errors = self._finish(letter, state, poll_id, record)
            new = store.signatories.added_in(poll_id, limit=SHOW_NEW)
        except (FetchError, ParseError) as exc:
            raise _CrawlFailed(exc, reader) from exc
        if record.outcome is not Outcome.OK:
            log.info("poll of %s %s: %s", letter.name, record.outcome, record.error)
        return PollReport(
            letter.name, poll_id, read.outcome, reader.count, state.last_count, read.added,
            read.removed, new, reader.requests, reader.bytes, time.monotonic() - started,
            read.crawl, reader.first.fetch.status, record.error,
            first_run=state.last_count is None, kind=record.kind, state=record.state,
            restored=read.restored, after_poll_errors=errors)

    def _read(self, letter: LetterSettings, state: LetterState, reader: Reader,
              poll_id: int, at: str, full_due: bool) -> _Read:
        """Read the pages needed and store what they show; the caller's transaction."""
        signatories = self._store.signatories
        order = ListOrder(letter.order) if letter.order != "auto" else state.list_order
        if not full_due:
            result = incremental(reader, Classifier(signatories, state.id),
                                 expected=reader.count - state.present, order=order)
            if result.consistent:
                restored = signatories.add(state.id, result.new_rows, at, poll_id)
                return _Read(CrawlKind.INCREMENTAL, added=len(result.new_rows) - restored,
                             order=result.order or order, restored=restored)
            log.info("%s: %s; reading every page", letter.name, result.reason)
        newest_first = order is not ListOrder.OLDEST_FIRST
        crawled, reason = self._full(letter, reader, newest_first)
        if reason is not None:  # the pages disagree: read them all once more
            log.info("%s: %s; reading the list again", letter.name, reason)
            reader.restart(self._fetcher.get(letter.poll_url, deadline=reader.deadline))
            self._check_plausible(letter, state, reader.first.parsed)
            crawled, reason = self._full(letter, reader, newest_first)
        if reason is not None:  # still: a mixed or short crawl changes nothing
            return _Read(CrawlKind.FULL, 0, 0, order, crawled.collected, Outcome.PARTIAL,
                         f"{reason}; nothing changed", FailureKind.PARTIAL)
        done = self._store.signatories.reconcile(state.id, at, poll_id,
                                                 newest_first=newest_first)
        return _Read(CrawlKind.FULL, done.added, done.removed, order, crawled.collected,
                     restored=done.restored)

    def _full(self, letter: LetterSettings, reader: Reader, newest_first: bool
              ) -> tuple[FullResult, str | None]:
        """Read every page; the reason the crawl cannot be trusted, if it cannot."""
        progress = self._progress(letter.name) if self._progress else None
        crawled = full(reader, self._store.signatories, progress=progress,
                       newest_first_or_unknown=newest_first)
        if crawled.mixed:
            return crawled, crawled.mixed
        low, high = sorted((reader.count, crawled.last_count))
        if not low <= crawled.collected <= high:
            return crawled, (f"collected {crawled.collected} rows but the caption says "
                             f"{reader.count}")
        return crawled, None

    @staticmethod
    def _record(reader: Reader, read: _Read, at: str, started: float) -> PollRecord:
        first = reader.first.fetch
        return PollRecord(
            at=at, count=reader.count, outcome=read.outcome, http_status=first.status,
            etag=first.etag, last_modified=first.last_modified, pages=reader.requests,
            bytes=reader.bytes, duration_ms=_ms(started), added=read.added,
            removed=read.removed, crawl=read.crawl, rows_seen=read.rows_seen, error=read.error,
            kind=read.kind, state=reader.first.parsed.state)

    def _update_letter(self, state: LetterState, reader: Reader, read: _Read,
                       record: PollRecord) -> None:
        updates: dict[str, object] = {
            "present": self._store.signatories.present(state.id), "list_order": read.order,
            "per_page": reader.per_page}
        if record.outcome is Outcome.OK:
            updates.update(etag=record.etag, last_modified=record.last_modified,
                           page1_digest=content_digest(reader.first.parsed),
                           last_count=record.count, accept_drop=0, count_only=False,
                           source_state=record.state)
            if read.crawl is CrawlKind.FULL:
                updates["last_full_crawl"] = record.at
        if reader.first.parsed.title:
            updates["title"] = reader.first.parsed.title
        self._store.letters.update(state.id, **updates)


@dataclass(frozen=True)
class _Read:
    crawl: CrawlKind
    added: int = 0
    removed: int = 0
    order: ListOrder = ListOrder.UNKNOWN
    rows_seen: int | None = None
    outcome: Outcome = Outcome.OK
    error: str | None = None
    kind: FailureKind | None = None
    restored: int = 0  # signatories marked removed who are on the list again


class _CrawlFailed(PollFailure):
    """A page after the first failed: the crawl rolled back and is recorded as partial."""

    def __init__(self, cause: PollFailure, reader: Reader) -> None:
        super().__init__(_reason(cause), status=cause.status)
        self.kind = cause.kind
        self.reader = reader


def _lists(letter: LetterSettings) -> bool:
    """Whether the letter's settings name its signatory rows (a ``rows`` selector or
    expression): a letter polled as count-only until now then needs a full read."""
    table = letter.source_settings(letter.adapter)
    return getattr(table, "rows", None) is not None


def _outcome_of(exc: PollFailure) -> Outcome:
    if isinstance(exc, _CrawlFailed):
        return Outcome.PARTIAL
    if isinstance(exc, SuspectCount):
        return Outcome.SUSPECT
    if exc.kind is FailureKind.BLOCKED:
        return Outcome.BLOCKED
    return Outcome.FAILED


def _reason(exc: PollFailure) -> str:
    if isinstance(exc, ParseError):
        return f"layout changed or page unreadable: {exc}"
    return str(exc)


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
