"""Fetching pages politely: one httpx client factory, conditional GET, bounded retries.

Retries happen only here, at the network edge, and only for connect errors, 429 and 5xx,
honouring ``Retry-After`` within a total budget. Redirects are followed by hand so that
a letter can never lead lettermon to another site.

Every request ends in bounded time. A deadline (``http.deadline``, or the poll's, if that
comes first) counts from the request's start across redirects, retries and the waits
between them; the size cap counts decoded bytes as they are decoded (:mod:`lettermon.decoding`),
so a compressed bomb stops at the cap; and a cancellation (a stop of ``lettermon run``)
ends a request within a fraction of a second. httpx's own timeouts bound each socket
operation, not a whole response, and nothing interrupts a thread blocked in ``recv``; so
each exchange runs on a short-lived daemon thread while the calling thread waits for it in
slices of :data:`SLICE` seconds, checking the deadline and the cancellation. A request the
caller gave up on is told to stop, which it does at its next chunk, or when its socket
read times out; until then it keeps its per-host slot, so the per-host limit holds. This
needs no change to httpx or to how sockets are made, and the thread costs far less than
the request it carries.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx

from lettermon import __version__
from lettermon.errors import (
    BlockedError,
    FetchError,
    FetchTimeout,
    HttpStatusError,
    Interrupted,
    TooLarge,
)
from lettermon.models import FailureKind, FetchResult
from lettermon.retry_after import retry_after_seconds
from lettermon.settings import HttpSettings
from lettermon.watch.decoding import DecodingError, accept_encoding, decoded

if TYPE_CHECKING:
    from collections.abc import Iterator

    from lettermon.netguard import NetGuard

log = logging.getLogger(__name__)

_CHALLENGE_MARKERS = (
    b"checking your browser", b"just a moment", b"cf-browser-verification",
    b"challenge-platform", b"cf_chl_", b"ddos-guard", b"sucuri website firewall",
    b"attention required", b"enable javascript and cookies to continue", b"captcha",
)
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_MAX_REDIRECTS = 5

SLICE = 0.1
"""Seconds between two looks at the deadline and the cancellation while waiting."""

Answer = tuple[int, bytes, httpx.Headers]


def user_agent(contact_url: str) -> str:
    return f"lettermon/{__version__} (+{contact_url})"


@dataclass(frozen=True, slots=True)
class Deadline:
    """The time by which something must be over, on the ``time.monotonic()`` clock.

    ``label`` is how a message names it: ``"60s"``, ``"the poll's 10m deadline"``.
    """

    at: float
    label: str

    @classmethod
    def after(cls, seconds: float, label: str | None = None) -> Deadline:
        return cls(time.monotonic() + seconds, label or f"{seconds:g}s")

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def earlier(self, other: Deadline | None) -> Deadline:
        return other if other is not None and other.at < self.at else self


class _LazyTLSTransport(httpx.BaseTransport):
    """Builds the verified TLS transport on the first https request.

    Loading the CA bundle costs tens of milliseconds; a check of an http:// letter, or one
    answered before any https request is made, never pays it.
    """

    def __init__(self, build: Callable[[], httpx.BaseTransport]) -> None:
        self._build = build
        self._transport: httpx.BaseTransport | None = None
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            if self._transport is None:
                self._transport = self._build()
        return self._transport.handle_request(request)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


def make_client(settings: HttpSettings, transport: httpx.BaseTransport | None = None, *,
                guard: NetGuard | None = None) -> httpx.Client:
    """The one place an httpx client for pages is built (atproto shares this httpx version).

    Without a ``transport``, every connection goes through ``guard``, by default the policy
    of ``settings.allow_private`` (see :mod:`lettermon.netguard`).
    """
    limits = httpx.Limits(max_connections=8, max_keepalive_connections=4)
    mounts: dict[str, httpx.BaseTransport | None] = {}
    if transport is None:
        from lettermon.netguard import GuardedTransport, NetGuard

        policy = guard or NetGuard(allow_private=settings.allow_private)
        # plain http needs no certificates; https loads them when first used
        transport = GuardedTransport(policy, verify=False, limits=limits)
        mounts["https://"] = _LazyTLSTransport(lambda: GuardedTransport(policy, limits=limits))
    return httpx.Client(
        timeout=httpx.Timeout(settings.timeout, connect=min(settings.timeout, 10.0)),
        headers={"User-Agent": user_agent(settings.contact_url),
                 "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5",
                 "Accept-Encoding": accept_encoding()},
        follow_redirects=False,
        limits=limits,
        transport=transport,
        mounts=mounts,
    )


def origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


def looks_like_challenge(status: int, body: bytes) -> bool:
    if status not in (403, 429, 503):
        return False
    head = body[:20000].lower()
    return any(marker in head for marker in _CHALLENGE_MARKERS)


class HostLimits:
    """At most ``per_host`` requests in flight to one host, across every fetcher sharing
    this (the threads of one worker polling several letters of one site)."""

    def __init__(self, per_host: int) -> None:
        self._per_host = per_host
        self._hosts: dict[str, threading.BoundedSemaphore] = {}
        self._lock = threading.Lock()

    def slot(self, url: str) -> threading.BoundedSemaphore:
        host = urlsplit(url).netloc.lower()
        with self._lock:
            slot = self._hosts.get(host)
            if slot is None:
                slot = self._hosts[host] = threading.BoundedSemaphore(self._per_host)
            return slot


class Fetcher:
    """GETs pages of one site family with the limits from :class:`HttpSettings`.

    ``cancel`` is asked, while a request is in flight or waits to be retried, whether to
    give up; once it answers true, :meth:`get` raises :class:`Interrupted` within
    :data:`SLICE` seconds. ``sleep`` replaces the wait before a retry (for tests).
    """

    def __init__(self, client: httpx.Client, settings: HttpSettings, *,
                 sleep: Callable[[float], None] | None = None,
                 cancel: Callable[[], bool] | None = None,
                 hosts: HostLimits | None = None) -> None:
        self._client = client
        self._settings = settings
        self._sleep = sleep
        self._cancel = cancel
        self._hosts = hosts or HostLimits(settings.per_host)

    @property
    def settings(self) -> HttpSettings:
        return self._settings

    @property
    def hosts(self) -> HostLimits:
        return self._hosts

    def _slot(self, url: str) -> threading.BoundedSemaphore:
        return self._hosts.slot(url)

    def get(self, url: str, *, etag: str | None = None, last_modified: str | None = None,
            same_origin_as: str | None = None, deadline: Deadline | None = None
            ) -> FetchResult:
        """Fetch ``url``; a 304 comes back with ``not_modified=True`` and an empty body.

        The request ends by its own deadline (``http.deadline``) or by ``deadline``, the
        caller's, whichever comes first. Raises :class:`BlockedError` for a bot challenge,
        :class:`Interrupted` when cancelled, and :class:`FetchError` (with its ``kind`` and
        the last ``status``) for everything else that is not a usable 200 or 304.
        """
        home = origin(same_origin_as or url)
        if origin(url) != home:
            raise FetchError(f"refusing to leave the letter's site for {urlsplit(url).netloc}",
                             kind=FailureKind.REFUSED_ADDRESS)
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        started = time.monotonic()
        own = self._settings.request_deadline
        limit = Deadline(started + own, f"{own:g}s").earlier(deadline)
        requests = 0
        for _ in range(_MAX_REDIRECTS + 1):
            status, body, response_headers, requests_made = self._get_with_retries(
                url, headers, started, limit)
            requests += requests_made
            if status in (301, 302, 303, 307, 308):
                location = response_headers.get("location")
                if not location:
                    raise HttpStatusError(f"HTTP {status} redirect without a Location from {url}",
                                          status=status)
                target = str(httpx.URL(url).join(location))
                if origin(target) != home:
                    raise HttpStatusError(
                        f"redirected to another site ({urlsplit(target).netloc}); not following",
                        status=status)
                url = target
                continue
            break
        else:
            raise HttpStatusError(f"more than {_MAX_REDIRECTS} redirects from {url}",
                                  status=status)
        elapsed = time.monotonic() - started
        if status == 304:
            return FetchResult(url, 304, b"", response_headers.get("etag") or etag,
                               response_headers.get("last-modified") or last_modified,
                               True, elapsed, requests)
        if looks_like_challenge(status, body):
            raise BlockedError(f"blocked by a bot challenge page (HTTP {status}) at {url}",
                               status=status)
        if status != 200:
            raise HttpStatusError(f"HTTP {status} from {url}", status=status)
        return FetchResult(url, status, body, response_headers.get("etag"),
                           response_headers.get("last-modified"), False, elapsed, requests,
                           response_headers.get("content-type"))

    def _get_with_retries(self, url: str, headers: dict[str, str], started: float,
                          limit: Deadline) -> tuple[int, bytes, httpx.Headers, int]:
        budget = self._settings.retry_budget
        attempt = 0
        while True:
            attempt += 1
            try:
                status, body, response_headers = self._exchange(url, headers, limit)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                error: Exception = exc
                status, body, response_headers, wait = 0, b"", httpx.Headers(), None
                log.debug("GET %s: %s (attempt %d)", url, _reason(exc), attempt,
                          extra={"event": "request"})
            else:
                log.debug("GET %s: HTTP %d, %d bytes (attempt %d)", url, status, len(body),
                          attempt, extra={"event": "request", "status": status})
                if status not in _RETRY_STATUSES or looks_like_challenge(status, body):
                    return status, body, response_headers, attempt
                error = FetchError(f"HTTP {status} from {url}")
                wait = retry_after_seconds(response_headers.get("retry-after"), time.time())
            if wait is None:
                wait = min(30.0, 0.5 * 2 ** (attempt - 1)) * (0.5 + random.random() / 2)  # noqa: S311
            spent = time.monotonic() - started
            if (attempt > self._settings.retries or spent + wait > budget
                    or wait >= limit.remaining()):
                if status:
                    if status in _RETRY_STATUSES and attempt > 1:
                        raise HttpStatusError(f"HTTP {status} from {url} after {attempt} attempts",
                                              status=status)
                    return status, body, response_headers, attempt
                raise FetchError(f"cannot connect to {urlsplit(url).netloc}: "
                                 f"{_reason(error)}",
                                 kind=FailureKind.TIMEOUT if isinstance(
                                     error, httpx.ConnectTimeout) else FailureKind.NETWORK
                                 ) from error
            log.info("retrying %s in %.1fs (%s)", url, wait, _reason(error))
            self._wait(wait)

    def _wait(self, seconds: float) -> None:
        """The pause before a retry; a cancellation ends it, and the request, at once."""
        if self._sleep is not None:
            self._sleep(seconds)
        else:
            ends = time.monotonic() + seconds
            while (left := ends - time.monotonic()) > 0 and not self._cancelled():
                time.sleep(min(left, SLICE))
        if self._cancelled():
            raise Interrupted("stopped while waiting to retry")

    def _cancelled(self) -> bool:
        return self._cancel is not None and self._cancel()

    def _exchange(self, url: str, headers: dict[str, str], limit: Deadline) -> Answer:
        """One GET on its own thread, waited for until it ends, the deadline passes or the
        fetcher is cancelled; the thread holds the host's slot for as long as it runs."""
        exchange = _Exchange()
        self._check(url, limit, exchange)
        slot = self._slot(url)
        while not slot.acquire(timeout=SLICE):
            self._check(url, limit, exchange)
        try:
            threading.Thread(target=exchange.run, args=(self._get_once, url, headers, slot.release),
                             name=f"fetch {urlsplit(url).netloc}", daemon=True).start()
        except BaseException:
            slot.release()
            raise
        while not exchange.done.wait(SLICE):
            try:
                self._check(url, limit, exchange)
            except BaseException:
                exchange.abandoned.set()
                raise
        return exchange.outcome()

    def _check(self, url: str, limit: Deadline, exchange: _Exchange) -> None:
        if self._cancelled():
            raise Interrupted(f"stopped while fetching {url}")
        if limit.remaining() <= 0:
            raise FetchTimeout(f"no complete response from {urlsplit(url).netloc} "
                               f"within {limit.label}", status=exchange.status)

    def _get_once(self, url: str, headers: dict[str, str], exchange: _Exchange) -> Answer:
        """Runs on the exchange's thread."""
        cap = self._settings.max_bytes
        try:
            with self._client.stream("GET", url, headers=headers) as response:
                status = exchange.status = response.status_code
                length = response.headers.get("content-length")
                if length and length.isdigit() and int(length) > cap:
                    raise TooLarge(f"response from {url} is {int(length):,} bytes, "
                                   f"over the {cap:,}-byte cap", status=status)
                chunks: list[bytes] = []
                size = 0
                for piece in _body(response, exchange, cap, url):
                    size += len(piece)
                    if size > cap:
                        raise TooLarge(f"response from {url} is over the {cap:,}-byte cap",
                                       status=status)
                    chunks.append(piece)
                return status, b"".join(chunks), response.headers
        except (httpx.ConnectError, httpx.ConnectTimeout):
            raise
        except DecodingError as exc:
            raise FetchError(f"cannot read the response from {url}: {exc}",
                             status=exchange.status) from exc
        except httpx.RemoteProtocolError as exc:
            raise FetchError(f"truncated or malformed response from {url}: {exc}",
                             status=exchange.status) from exc
        except httpx.TimeoutException as exc:
            raise FetchTimeout(f"timed out reading {url}", status=exchange.status) from exc
        except httpx.HTTPError as exc:
            raise FetchError(f"cannot fetch {url}: {_reason(exc)}",
                             status=exchange.status) from exc

    def close(self) -> None:
        self._client.close()


def _body(response: httpx.Response, exchange: _Exchange, cap: int, url: str
          ) -> Iterator[bytes]:
    """The body decoded, in bounded pieces, as it is read."""
    if response.is_stream_consumed:  # made in memory (a mock transport), decoded by httpx
        return iter([response.content])
    return decoded(_raw(response, exchange, cap, url), response.headers.get("content-encoding"))


def _raw(response: httpx.Response, exchange: _Exchange, cap: int, url: str
         ) -> Iterator[bytes]:
    """The body as sent, until the caller gives up; never more than ``cap`` bytes of it."""
    size = 0
    for chunk in response.iter_raw():
        if exchange.abandoned.is_set():
            raise _Abandoned
        size += len(chunk)
        if size > cap:
            raise TooLarge(f"response from {url} is over the {cap:,}-byte cap",
                           status=response.status_code)
        yield chunk


class _Abandoned(Exception):
    """The caller stopped waiting for this exchange (deadline or cancellation)."""


class _Exchange:
    """One request on its own thread: its outcome, and the flags both threads look at."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.abandoned = threading.Event()
        self.status: int | None = None
        self._answer: Answer | None = None
        self._error: Exception | None = None

    def run(self, work: Callable[[str, dict[str, str], _Exchange], Answer], url: str,
            headers: dict[str, str], release: Callable[[], None]) -> None:
        try:
            self._answer = work(url, headers, self)
        except Exception as exc:  # noqa: BLE001 - raised again in the thread that waits
            self._error = exc
        finally:
            release()
            self.done.set()

    def outcome(self) -> Answer:
        if self._error is not None:
            raise self._error
        if self._answer is None:  # run() always sets one or the other
            raise FetchError("the request ended without an answer")
        return self._answer


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
