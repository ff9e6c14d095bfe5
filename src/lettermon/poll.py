"""One poll of one letter: fetch page 1, decide what to read, store it as one transaction.

Failures are outcomes, recorded with their reason; the known count and signatories are
left untouched by anything that is not a clean, consistent read.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from lettermon import clock
from lettermon.crawl import Classifier, Page, Progress, Reader, full, incremental
from lettermon.durations import format_duration
from lettermon.errors import BlockedError, FetchError, LettermonError, ParseError
from lettermon.fetch import Deadline, Fetcher
from lettermon.models import FetchResult, Outcome, ParsedPage
from lettermon.settings import LetterSettings
from lettermon.sources import adapter_for
from lettermon.store.repo import LetterState, PollRecord, Store

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
    crawl: str | None = None
    http_status: int | None = None
    error: str | None = None
    first_run: bool = False

    @property
    def ok(self) -> bool:
        return self.outcome in ("ok", "unchanged")

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
    return h.hexdigest()


class PollHook(Protocol):
    """Runs inside every poll's transaction, after the poll row is written."""

    def after_poll(self, letter: LetterSettings, state: LetterState, poll_id: int,
                   record: PollRecord) -> None: ...


class _Abort(Exception):
    """Ends a poll early with an outcome that is not a success."""

    def __init__(self, outcome: Outcome, reason: str) -> None:
        super().__init__(reason)
        self.outcome: Outcome = outcome
        self.reason = reason


class Poller:
    def __init__(self, store: Store, fetcher: Fetcher, *,
                 now: Callable[[], datetime] = clock.now,
                 progress: Callable[[str], Progress | None] | None = None,
                 hooks: Sequence[PollHook] = (),
                 stopping: Callable[[], bool] | None = None,
                 deadline: float = 600.0) -> None:
        self._store = store
        self._deadline = deadline  # seconds one poll may take, all its pages included
        self._stopping = stopping
        self._hooks = tuple(hooks)
        self._fetcher = fetcher
        self._now = now
        self._progress = progress

    def poll(self, letter: LetterSettings) -> PollReport:
        started = time.monotonic()
        deadline = Deadline.after(
            self._deadline, f"the poll's {format_duration(self._deadline)} deadline")
        at = clock.iso(self._now())
        url = str(letter.url)
        state = self._store.ensure_letter(letter.name, url, at)
        full_due = self._full_crawl_due(letter, state)
        conditional = state.last_count is not None and not full_due
        first_fetch: FetchResult | None = None
        count: int | None = None
        try:
            first_fetch = self._fetcher.get(
                url, etag=state.etag if conditional else None,
                last_modified=state.last_modified if conditional else None, deadline=deadline)
            if first_fetch.not_modified:
                return self._unchanged(letter, state, at, first_fetch, started)
            adapter = adapter_for(letter, first_fetch.body)
            parsed = adapter.parse(first_fetch.body, first_fetch.url)
            if parsed.count is None:
                raise ParseError("the page states no signature count")
            count = parsed.count
            self._check_plausible(letter, state, parsed)
            digest = content_digest(parsed)
            if digest == state.page1_digest and not full_due:
                return self._unchanged(letter, state, at, first_fetch, started, parsed.count)
            reader = Reader(self._fetcher, adapter, url, Page(1, first_fetch, parsed),
                            stopping=self._stopping, deadline=deadline)
            return self._crawl(letter, state, reader, at, started, digest, full_due)
        except (FetchError, ParseError, _Abort) as exc:
            outcome, reason = _describe(exc)
            pages = 1 if first_fetch else 0
            return self._failed(letter, state, at, started, outcome, reason, first_fetch,
                                count=count if outcome == "suspect" else None,
                                pages=pages, size=len(first_fetch.body) if first_fetch else 0,
                                status=exc.status if isinstance(exc, FetchError) else None)

    def _finish(self, letter: LetterSettings, state: LetterState, poll_id: int,
                record: PollRecord) -> None:
        self._store.finish_poll(poll_id, record)
        for hook in self._hooks:
            hook.after_poll(letter, state, poll_id, record)

    # -- decisions ---------------------------------------------------------------------
    def _full_crawl_due(self, letter: LetterSettings, state: LetterState) -> bool:
        if state.last_full_crawl is None:
            return True
        age = (self._now() - clock.parse_iso(state.last_full_crawl)).total_seconds()
        return age >= letter.full_crawl_every

    def _check_plausible(self, letter: LetterSettings, state: LetterState,
                         parsed: ParsedPage) -> None:
        count = parsed.count or 0
        known = state.last_count
        if count == 0 and parsed.rows:
            raise ParseError("the caption says 0 but the list shows signatories")
        if not known or self._drop_confirmed(state, count):
            return
        if count == 0:
            raise _Abort("suspect", f"the count fell from {known} to 0")
        if count < known * (1 - letter.suspect_drop):
            raise _Abort("suspect", f"the count fell sharply, from {known} to {count}")

    def _drop_confirmed(self, state: LetterState, count: int) -> bool:
        """A drop seen on SUSPECT_ACCEPT_AFTER polls in a row is real (a purge of spam)."""
        recent = self._store.polls(state.id, limit=SUSPECT_ACCEPT_AFTER - 1)
        confirmed = len(recent) == SUSPECT_ACCEPT_AFTER - 1 and all(
            p.outcome == "suspect" and p.count == count for p in recent)
        if confirmed:
            log.warning("%s: accepting the drop from %s to %s, seen on %d polls in a row",
                        state.name, state.last_count, count, SUSPECT_ACCEPT_AFTER)
        return confirmed

    # -- outcomes ----------------------------------------------------------------------
    def _unchanged(self, letter: LetterSettings, state: LetterState, at: str,
                   result: FetchResult, started: float, count: int | None = None) -> PollReport:
        count = state.last_count if count is None else count
        record = PollRecord(
            at=at, count=count, outcome="unchanged", http_status=result.status,
            etag=result.etag, last_modified=result.last_modified, pages=1,
            bytes=len(result.body), duration_ms=_ms(started))
        with self._store.db.transaction():
            poll_id = self._store.start_poll(state.id, at)
            self._finish(letter, state, poll_id, record)
            if (result.etag, result.last_modified) != (state.etag, state.last_modified):
                self._store.update_letter(state.id, etag=result.etag,
                                          last_modified=result.last_modified)
        return PollReport(state.name, poll_id, "unchanged", count, state.last_count,
                          pages=1, bytes=len(result.body), duration=time.monotonic() - started,
                          http_status=result.status)

    def _failed(self, letter: LetterSettings, state: LetterState, at: str, started: float,
                outcome: Outcome, reason: str, first: FetchResult | None, *,
                count: int | None, pages: int, size: int,
                status: int | None = None) -> PollReport:
        record = PollRecord(
            at=at, count=count, outcome=outcome,
            http_status=first.status if first else status, pages=pages, bytes=size,
            duration_ms=_ms(started), error=reason)
        with self._store.db.transaction():
            poll_id = self._store.start_poll(state.id, at)
            self._finish(letter, state, poll_id, record)
            if first is not None and first.body and letter.store_pages:
                self._store.store_page(poll_id, 1, first.body)  # kept for diagnosis
        log.info("poll of %s %s: %s", letter.name, outcome, reason)
        return PollReport(letter.name, poll_id, outcome, count, state.last_count,
                          pages=pages, bytes=size, duration=time.monotonic() - started,
                          http_status=record.http_status, error=reason)

    def _crawl(self, letter: LetterSettings, state: LetterState, reader: Reader, at: str,
               started: float, digest: str, full_due: bool) -> PollReport:
        store = self._store
        try:
            with store.db.transaction():
                poll_id = store.start_poll(state.id, at)
                if letter.store_pages:  # each page as it is read: memory stays flat

                    def keep(page: Page) -> None:
                        store.store_page(poll_id, page.number, page.fetch.body)
                    keep(reader.first)
                    reader.on_page = keep
                read = self._read(letter, state, reader, poll_id, at, full_due)
                record = self._record(reader, read, at, started)
                self._update_letter(state, reader, read, record, digest)
                self._finish(letter, state, poll_id, record)
                new = store.added_in_poll(poll_id, limit=SHOW_NEW)
        except (FetchError, ParseError) as exc:
            # the transaction rolled back: record the attempt on its own, as partial
            _, reason = _describe(exc)
            return self._failed(letter, state, at, started, "partial", reason,
                                reader.first.fetch, count=reader.count, pages=reader.requests,
                                size=reader.bytes)
        if record.outcome != "ok":
            log.info("poll of %s %s: %s", letter.name, record.outcome, record.error)
        return PollReport(
            letter.name, poll_id, read.outcome, reader.count, state.last_count, read.added,
            read.removed, new, reader.requests, reader.bytes, time.monotonic() - started,
            read.crawl, reader.first.fetch.status, record.error,
            first_run=state.last_count is None)

    def _read(self, letter: LetterSettings, state: LetterState, reader: Reader,
              poll_id: int, at: str, full_due: bool) -> _Read:
        """Read the pages needed and store what they show; the caller's transaction."""
        store = self._store
        order = letter.order if letter.order != "auto" else state.list_order
        if not full_due:
            result = incremental(reader, Classifier(store, state.id),
                                 expected=reader.count - state.present, order=order)
            if result.consistent:
                store.add_signatories(state.id, result.new_rows, at, poll_id)
                return _Read("incremental", added=len(result.new_rows),
                             order=result.order or order)
            log.info("%s: %s; reading every page", letter.name, result.reason)
        progress = self._progress(letter.name) if self._progress else None
        crawled = full(reader, store, progress=progress,
                       newest_first_or_unknown=order != "oldest_first")
        low, high = sorted((reader.count, crawled.last_count))
        complete = low <= crawled.collected <= high
        added, removed = store.reconcile(state.id, at, poll_id,
                                         newest_first=order != "oldest_first",
                                         apply_removals=complete)
        error = None if complete else (
            f"collected {crawled.collected} rows but the caption says {reader.count}; "
            "removals not applied")
        return _Read("full", added, removed, order, crawled.collected,
                     "ok" if complete else "partial", error)

    @staticmethod
    def _record(reader: Reader, read: _Read, at: str, started: float) -> PollRecord:
        first = reader.first.fetch
        return PollRecord(
            at=at, count=reader.count, outcome=read.outcome, http_status=first.status,
            etag=first.etag, last_modified=first.last_modified, pages=reader.requests,
            bytes=reader.bytes, duration_ms=_ms(started), added=read.added,
            removed=read.removed, crawl=read.crawl, rows_seen=read.rows_seen, error=read.error)

    def _update_letter(self, state: LetterState, reader: Reader, read: _Read,
                       record: PollRecord, digest: str) -> None:
        updates: dict[str, object] = {
            "present": self._store.present_count(state.id), "list_order": read.order,
            "per_page": reader.per_page}
        if record.outcome == "ok":
            updates.update(etag=record.etag, last_modified=record.last_modified,
                           page1_digest=digest, last_count=record.count)
            if read.crawl == "full":
                updates["last_full_crawl"] = record.at
        if reader.first.parsed.title:
            updates["title"] = reader.first.parsed.title
        self._store.update_letter(state.id, **updates)


@dataclass(frozen=True)
class _Read:
    crawl: str
    added: int = 0
    removed: int = 0
    order: str = "unknown"
    rows_seen: int | None = None
    outcome: Outcome = "ok"
    error: str | None = None


def _describe(exc: LettermonError | _Abort) -> tuple[Outcome, str]:
    if isinstance(exc, _Abort):
        return exc.outcome, exc.reason
    if isinstance(exc, BlockedError):
        return "blocked", str(exc)
    if isinstance(exc, ParseError):
        return "failed", f"layout changed or page unreadable: {exc}"
    return "failed", str(exc)


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
