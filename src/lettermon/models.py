"""Values that cross module boundaries: rows, parsed pages, fetch results, typed outcomes.

Outcomes, statuses and kinds are :class:`~enum.StrEnum` members, so what is stored in the
database and printed as JSON is the same plain text as before they were typed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

Fields = tuple[tuple[str, str], ...]
"""A signatory's fields in page order: (widget field name, cleaned text)."""


class Outcome(StrEnum):
    """How one poll ended."""

    RUNNING = "running"  # the poll row exists, its transaction has not committed
    OK = "ok"
    UNCHANGED = "unchanged"
    FAILED = "failed"
    SUSPECT = "suspect"
    PARTIAL = "partial"
    BLOCKED = "blocked"

    @property
    def ok(self) -> bool:
        """A clean, consistent read: the only polls milestones and health count."""
        return self in SUCCESS


SUCCESS = frozenset({Outcome.OK, Outcome.UNCHANGED})


class FailureKind(StrEnum):
    """Why a poll did not succeed; alerts and health name it, never the message text."""

    NETWORK = "network"
    TIMEOUT = "timeout"
    TOO_LARGE = "too_large"
    REFUSED_ADDRESS = "refused_address"
    HTTP = "http"
    BLOCKED = "blocked"
    LAYOUT = "layout"
    SUSPECT = "suspect"
    PARTIAL = "partial"

    @property
    def label(self) -> str:
        """The words an operator reads in an alert or in ``lettermon health``."""
        return _LABELS[self]


_LABELS = {
    FailureKind.NETWORK: "network",
    FailureKind.TIMEOUT: "timeout",
    FailureKind.TOO_LARGE: "response too large",
    FailureKind.REFUSED_ADDRESS: "refused address",
    FailureKind.HTTP: "HTTP error",
    FailureKind.BLOCKED: "blocked",
    FailureKind.LAYOUT: "layout changed",
    FailureKind.SUSPECT: "suspect count",
    FailureKind.PARTIAL: "partial crawl",
}


class OutboxStatus(StrEnum):
    """Where one outbox entry stands: pending → sending → sent, or failed, given_up, cancelled."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    GIVEN_UP = "given_up"
    CANCELLED = "cancelled"


OPEN_STATUSES = (OutboxStatus.PENDING, OutboxStatus.FAILED, OutboxStatus.SENDING)
"""Entries that may still go out."""


class PostKind(StrEnum):
    """What an outbox entry announces."""

    MILESTONE = "milestone"
    LAUNCH = "launch"
    FINAL = "final"
    ALERT = "alert"
    RECOVERY = "recovery"

    @property
    def for_operators(self) -> bool:
        return self in (PostKind.ALERT, PostKind.RECOVERY)


class ListOrder(StrEnum):
    """The order of a letter's signature list, as configured or learned from page 1."""

    UNKNOWN = "unknown"
    NEWEST_FIRST = "newest_first"
    OLDEST_FIRST = "oldest_first"


class CrawlKind(StrEnum):
    INCREMENTAL = "incremental"
    FULL = "full"


def fingerprint(fields: Fields) -> str:
    """A stable identity for a row's text: same fields and values, same fingerprint.

    Rows have no id on the page, so this is how a signatory is recognised between polls.
    Field order does not matter; values are already whitespace-normalised by the adapter.
    """
    text = "\x1e".join(f"{name}\x1f{value}" for name, value in sorted(fields))
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


@dataclass(frozen=True, slots=True)
class Row:
    """One signatory row as read from a page."""

    fields: Fields
    fingerprint: str

    @classmethod
    def of(cls, fields: Fields) -> Row:
        return cls(fields, fingerprint(fields))

    def as_dict(self) -> dict[str, str]:
        return dict(self.fields)


Breakdown = tuple[tuple[str, int], ...]
"""Counts by one dimension (country, constituency, ...): (name, count), largest first."""

CLOSED_STATES = frozenset({"closed", "rejected"})
"""A letter in one of these states takes no more signatures: it is polled no more."""


def is_closed(state: str | None) -> bool:
    """Whether a letter's state (as its source states it) means it takes no signatures."""
    return state is not None and state.strip().lower() in CLOSED_STATES


@dataclass(frozen=True, slots=True)
class ParsedPage:
    """What a source adapter reads from one page of a letter's list.

    ``count`` is the total the page states (None if this page states none).
    ``page`` is the 1-based number of this page.
    ``pages`` maps page numbers to absolute URLs found in the page's own pagination.
    ``page_url_template`` builds the URL of any page: ``template.format(page=N)``;
    None when the adapter can only follow ``next_url``.
    ``last_page`` is the highest page number the page links to (None if unknown).
    ``next_url`` is the absolute URL of the next page, or None on the last page.
    ``count_only`` says the letter has a count and no signatory list: there are no rows
    to crawl, and the count alone is the whole read.
    ``state`` is the letter's state as its source states it (``"open"``, ``"closed"``...),
    None when the source says nothing about it.
    ``breakdowns`` holds counts by dimension (``"country"``, ``"constituency"``) where the
    source gives them.
    """

    count: int | None
    rows: tuple[Row, ...]
    page: int = 1
    per_page: int | None = None
    pages: dict[int, str] = field(default_factory=dict)
    page_url_template: str | None = None
    last_page: int | None = None
    next_url: str | None = None
    title: str | None = None
    count_only: bool = False
    state: str | None = None
    breakdowns: Mapping[str, Breakdown] = field(default_factory=dict)

    @property
    def closed(self) -> bool:
        return is_closed(self.state)


@dataclass(frozen=True, slots=True)
class FetchResult:
    """One HTTP exchange for a page. ``not_modified`` means a 304: ``body`` is empty."""

    url: str
    status: int
    body: bytes
    etag: str | None
    last_modified: str | None
    not_modified: bool
    elapsed: float
    requests: int = 1
    content_type: str | None = None
