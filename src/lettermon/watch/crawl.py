"""Reading a letter's pages: as few as possible, never missing or doubling a row.

Two strategies over the same page reader:

* :func:`incremental` reads only the pages that can hold new rows: from page 1 forward
  for a newest-first list, from the last page backward for an oldest-first one. It stops
  once it has found as many new rows as the caption's count says there are and has seen a
  known row (the boundary). If the figures do not add up it says so, and the poll falls
  back to a full crawl.
* :func:`full` reads every page, staging rows in the database, so the stored list can be
  reconciled (new, removed, edited) in SQL whatever the letter's size.

Paging is by offset, so a signature arriving mid-crawl pushes rows down one page: the rows
repeated at the top of page N+1 are dropped when the caption's count grew between pages.
Every page states the total, and a page stating a smaller total than page 1 cannot be
explained by people signing during the crawl: it comes from an older copy of the list (a
page cache) or rows were deleted between the reads. Such a crawl mixes two states of the
list, and says so (:attr:`FullResult.mixed`), so that the poll changes nothing.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from lettermon.errors import Interrupted, ParseError
from lettermon.models import FetchResult, ListOrder, ParsedPage, Row
from lettermon.store.signatories import Signatories
from lettermon.watch.fetch import Deadline, Fetcher
from lettermon.watch.sources import check_media_type
from lettermon.watch.sources.base import SourceAdapter

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
"""Called with (pages read, pages expected) as a crawl goes."""


@dataclass(frozen=True, slots=True)
class Page:
    number: int
    fetch: FetchResult
    parsed: ParsedPage


@dataclass
class Reader:
    """Fetches and parses pages of one letter, and keeps the totals for the poll row."""

    fetcher: Fetcher
    adapter: SourceAdapter
    letter_url: str
    first: Page
    on_page: Callable[[Page], None] | None = None
    stopping: Callable[[], bool] | None = None
    deadline: Deadline | None = None  # the poll's: every page read shares it
    requests: int = 0
    bytes: int = 0

    def __post_init__(self) -> None:
        self.requests = self.first.fetch.requests
        self.bytes = len(self.first.fetch.body)
        if self.on_page:
            self.on_page(self.first)

    @property
    def count(self) -> int:
        count = self.first.parsed.count
        if count is None:  # checked by the poll before a crawl starts
            raise ParseError("the first page states no count")
        return count

    @property
    def per_page(self) -> int:
        parsed = self.first.parsed
        return parsed.per_page or max(len(parsed.rows), 1)

    @property
    def last_page(self) -> int:
        known = self.first.parsed.last_page or 1
        return max(known, math.ceil(self.count / self.per_page) if self.count else 1)

    def url_of(self, number: int) -> str | None:
        parsed = self.first.parsed
        if number == 1:
            return self.first.fetch.url
        if number in parsed.pages:
            return parsed.pages[number]
        if parsed.page_url_template:
            return parsed.page_url_template.format(page=number)
        return None

    def read(self, url: str, number: int) -> Page:
        if self.stopping is not None and self.stopping():
            raise Interrupted(f"stopped before page {number}")
        result = self.fetcher.get(url, same_origin_as=self.letter_url, deadline=self.deadline)
        self.requests += result.requests
        self.bytes += len(result.body)
        check_media_type(self.adapter, result.content_type)
        parsed = self.adapter.parse(result.body, result.url)
        if parsed.count is None:
            raise ParseError(f"page {number} states no count (layout changed?)")
        page = Page(number, result, parsed)
        if self.on_page:
            self.on_page(page)
        return page

    def restart(self, fetched: FetchResult) -> None:
        """Begin again from a fresh copy of page 1 (a crawl read a second time)."""
        check_media_type(self.adapter, fetched.content_type)
        parsed = self.adapter.parse(fetched.body, fetched.url)
        if parsed.count is None:
            raise ParseError("the first page states no count (layout changed?)")
        self.first = Page(1, fetched, parsed)
        self.requests += fetched.requests
        self.bytes += len(fetched.body)
        if self.on_page:
            self.on_page(self.first)

    def older_than_first(self, page: Page) -> str | None:
        """Why ``page`` cannot belong to the same state of the list as page 1, if it can't."""
        count = page.parsed.count
        if count is not None and count < self.count:
            return (f"page {page.number} says {count:,} where page 1 said {self.count:,} "
                    "(an older copy of the list, or rows deleted during the crawl)")
        return None

    def check_full(self, page: Page, is_last: bool) -> None:
        """A page before the last that holds fewer rows than a page holds was cut short."""
        if not is_last and len(page.parsed.rows) < self.per_page:
            raise ParseError(f"page {page.number} holds {len(page.parsed.rows)} rows where "
                             f"{self.per_page} were expected (truncated page?)")


def drop_shifted(previous: Sequence[Row], previous_count: int | None,
                 rows: Sequence[Row], count: int | None) -> Sequence[Row]:
    """Drop rows repeated from the previous page because the list grew in between."""
    if previous_count is None or count is None or count <= previous_count:
        return rows
    grown = min(count - previous_count, len(previous), len(rows))
    for k in range(grown, 0, -1):
        if [r.fingerprint for r in previous[-k:]] == [r.fingerprint for r in rows[:k]]:
            log.info("dropped %d row(s) shifted across a page boundary", k)
            return rows[k:]
    return rows


class Classifier:
    """Tells new rows from known ones, counting duplicates as separate signatories."""

    def __init__(self, signatories: Signatories, letter_id: int) -> None:
        self._signatories = signatories
        self._letter_id = letter_id
        self._known: dict[str, int] = {}
        self._seen: dict[str, int] = {}
        self.new: list[Row] = []
        self.known_seen = 0

    def feed(self, rows: Sequence[Row]) -> list[Row]:
        """Classify rows in reading order; return the new ones among them."""
        missing = {r.fingerprint for r in rows} - self._known.keys()
        if missing:
            found = self._signatories.multiplicity(self._letter_id, missing)
            for fp in missing:
                self._known[fp] = found.get(fp, 0)
        new = []
        for row in rows:
            n = self._seen[row.fingerprint] = self._seen.get(row.fingerprint, 0) + 1
            if n > self._known[row.fingerprint]:
                new.append(row)
            else:
                self.known_seen += 1
        self.new.extend(new)
        return new


@dataclass
class IncrementalResult:
    consistent: bool
    new_rows: list[Row] = field(default_factory=list)  # oldest first
    order: ListOrder | None = None  # the order the new rows revealed
    reason: str = ""


def incremental(reader: Reader, classifier: Classifier, *, expected: int,
                order: ListOrder) -> IncrementalResult:
    """Read only the pages that can hold the ``expected`` new rows."""
    first = reader.first
    page_one_new = classifier.feed(first.parsed.rows)
    found = len(page_one_new)
    if expected <= 0:
        if found == 0 and expected == 0:
            return IncrementalResult(True)
        return IncrementalResult(False, reason=f"{found} unknown rows where the count "
                                 f"says {expected:+d}")
    if order is ListOrder.UNKNOWN and found:
        order = _order_from(first.parsed.rows, page_one_new)
    if order is ListOrder.OLDEST_FIRST or (order is ListOrder.UNKNOWN and found == 0):
        return _backward(reader, classifier, expected, page_one_new)
    return _forward(reader, classifier, expected)


def _order_from(rows: Sequence[Row], new: Sequence[Row]) -> ListOrder:
    """Where new rows sit on page 1 tells the list's order: top, newest first."""
    if [r.fingerprint for r in rows[:len(new)]] == [r.fingerprint for r in new]:
        return ListOrder.NEWEST_FIRST
    if [r.fingerprint for r in rows[-len(new):]] == [r.fingerprint for r in new]:
        return ListOrder.OLDEST_FIRST
    return ListOrder.UNKNOWN


def _forward(reader: Reader, classifier: Classifier, expected: int) -> IncrementalResult:
    previous = reader.first
    number = 1
    while (len(classifier.new) < expected or not classifier.known_seen) \
            and number < reader.last_page:
        number += 1
        url = reader.url_of(number) or previous.parsed.next_url
        if url is None:
            break
        page = reader.read(url, number)
        mixed = reader.older_than_first(page)
        if mixed:
            return IncrementalResult(False, reason=mixed)
        rows = drop_shifted(previous.parsed.rows, previous.parsed.count,
                            page.parsed.rows, page.parsed.count)
        reader.check_full(page, number >= reader.last_page)
        classifier.feed(rows)
        previous = page
    # a newest-first list shows the newest at the top: store them oldest first
    return _verdict(classifier.new[::-1], expected, ListOrder.NEWEST_FIRST)


def _backward(reader: Reader, classifier: Classifier, expected: int,
              page_one_new: list[Row]) -> IncrementalResult:
    last = reader.last_page
    number = last + 1
    tail: list[Row] = []  # new rows in display order, which is oldest first
    while (len(classifier.new) < expected or not classifier.known_seen) and number > 2:
        number -= 1
        url = reader.url_of(number)
        if url is None:
            return IncrementalResult(False, reason="no way to reach the last pages")
        page = reader.read(url, number)
        if page.parsed.pages and page.parsed.page != number:
            return IncrementalResult(False, reason=f"page {number} is past the end of the list")
        mixed = reader.older_than_first(page)
        if mixed:
            return IncrementalResult(False, reason=mixed)
        reader.check_full(page, number >= last)
        tail[:0] = classifier.feed(page.parsed.rows)
    return _verdict(page_one_new + tail, expected, ListOrder.OLDEST_FIRST)


def _verdict(rows: list[Row], expected: int, order: ListOrder) -> IncrementalResult:
    if len(rows) != expected:
        return IncrementalResult(False, reason=f"found {len(rows)} new rows where the count "
                                 f"says {expected}")
    return IncrementalResult(True, rows, order)


@dataclass
class FullResult:
    collected: int
    last_count: int
    mixed: str | None = None  # why the pages cannot all show one state of the list


def full(reader: Reader, signatories: Signatories, *, newest_first_or_unknown: bool,
         progress: Progress | None = None) -> FullResult:
    """Read every page into the staging table; return how many rows were collected."""
    signatories.stage_begin()
    previous = reader.first
    signatories.stage(0, previous.parsed.rows)
    collected = len(previous.parsed.rows)
    last = reader.last_page
    if progress:
        progress(1, last)
    number = 1
    seen_urls = {reader.first.fetch.url}
    while True:
        number += 1
        url = (reader.url_of(number) if number <= last else None) or previous.parsed.next_url
        if url is None or url in seen_urls:
            break
        seen_urls.add(url)
        page = reader.read(url, number)
        if page.parsed.pages and page.parsed.page < number:
            break  # past the end the widget shows the last page again
        mixed = reader.older_than_first(page)
        if mixed:
            return FullResult(collected, page.parsed.count or 0, mixed)
        rows: Sequence[Row] = page.parsed.rows
        if newest_first_or_unknown:
            rows = drop_shifted(previous.parsed.rows, previous.parsed.count,
                                rows, page.parsed.count)
        last = max(last, page.parsed.last_page or 0)
        reader.check_full(page, number >= last and not page.parsed.next_url)
        signatories.stage(collected, rows)
        collected += len(rows)
        previous = page
        if progress:
            progress(number, last)
        if not rows:
            break
    return FullResult(collected, previous.parsed.count or reader.count)
