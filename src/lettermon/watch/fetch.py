"""Fetching pages politely: one httpx client factory, conditional GET, bounded retries.

Retries happen only here, at the network edge, and only for connect errors, 429 and 5xx,
honouring ``Retry-After`` within a total budget. Redirects are followed by hand so that
a letter can never lead lettermon to another site.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx

from lettermon import __version__
from lettermon.errors import BlockedError, FetchError
from lettermon.models import FailureKind, FetchResult
from lettermon.retry_after import retry_after_seconds
from lettermon.settings import HttpSettings

log = logging.getLogger(__name__)

_CHALLENGE_MARKERS = (
    b"checking your browser", b"just a moment", b"cf-browser-verification",
    b"challenge-platform", b"cf_chl_", b"ddos-guard", b"sucuri website firewall",
    b"attention required", b"enable javascript and cookies to continue", b"captcha",
)
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_MAX_REDIRECTS = 5


def user_agent(contact_url: str) -> str:
    return f"lettermon/{__version__} (+{contact_url})"


class _LazyTLSTransport(httpx.BaseTransport):
    """Builds the verified TLS transport on the first https request.

    Loading the CA bundle costs tens of milliseconds; a check of an http:// letter, or one
    answered before any https request is made, never pays it.
    """

    def __init__(self, limits: httpx.Limits) -> None:
        self._limits = limits
        self._transport: httpx.HTTPTransport | None = None
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            if self._transport is None:
                self._transport = httpx.HTTPTransport(limits=self._limits)
        return self._transport.handle_request(request)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


def make_client(settings: HttpSettings, transport: httpx.BaseTransport | None = None
                ) -> httpx.Client:
    """The one place an httpx client is built (atproto shares this httpx version)."""
    limits = httpx.Limits(max_connections=8, max_keepalive_connections=4)
    mounts: dict[str, httpx.BaseTransport | None] = {}
    if transport is None:
        # plain http needs no certificates; https loads them when first used
        transport = httpx.HTTPTransport(verify=False, limits=limits)
        mounts["https://"] = _LazyTLSTransport(limits)
    return httpx.Client(
        timeout=httpx.Timeout(settings.timeout, connect=min(settings.timeout, 10.0)),
        headers={"User-Agent": user_agent(settings.contact_url),
                 "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"},
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


class Fetcher:
    """GETs pages of one site family with the limits from :class:`HttpSettings`."""

    def __init__(self, client: httpx.Client, settings: HttpSettings, *,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._client = client
        self._settings = settings
        self._sleep = sleep
        self._hosts: dict[str, threading.BoundedSemaphore] = {}
        self._hosts_lock = threading.Lock()

    def _slot(self, url: str) -> threading.BoundedSemaphore:
        host = urlsplit(url).netloc.lower()
        with self._hosts_lock:
            slot = self._hosts.get(host)
            if slot is None:
                slot = self._hosts[host] = threading.BoundedSemaphore(self._settings.per_host)
            return slot

    def get(self, url: str, *, etag: str | None = None, last_modified: str | None = None,
            same_origin_as: str | None = None) -> FetchResult:
        """Fetch ``url``; a 304 comes back with ``not_modified=True`` and an empty body.

        Raises :class:`BlockedError` for a bot challenge and :class:`FetchError` for
        everything else that is not a usable 200 or 304.
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
        requests = 0
        for _ in range(_MAX_REDIRECTS + 1):
            status, body, response_headers, requests_made = self._get_with_retries(
                url, headers, started)
            requests += requests_made
            if status in (301, 302, 303, 307, 308):
                location = response_headers.get("location")
                if not location:
                    raise FetchError(f"HTTP {status} redirect without a Location from {url}",
                                     status=status, kind=FailureKind.HTTP)
                target = str(httpx.URL(url).join(location))
                if origin(target) != home:
                    raise FetchError(
                        f"redirected to another site ({urlsplit(target).netloc}); not following",
                        kind=FailureKind.REFUSED_ADDRESS)
                url = target
                continue
            break
        else:
            raise FetchError(f"more than {_MAX_REDIRECTS} redirects from {url}",
                             kind=FailureKind.HTTP)
        elapsed = time.monotonic() - started
        if status == 304:
            return FetchResult(url, 304, b"", response_headers.get("etag") or etag,
                               response_headers.get("last-modified") or last_modified,
                               True, elapsed, requests)
        if looks_like_challenge(status, body):
            raise BlockedError(f"blocked by a bot challenge page (HTTP {status}) at {url}")
        if status != 200:
            raise FetchError(f"HTTP {status} from {url}", status=status, kind=FailureKind.HTTP)
        return FetchResult(url, status, body, response_headers.get("etag"),
                           response_headers.get("last-modified"), False, elapsed, requests)

    def _get_with_retries(self, url: str, headers: dict[str, str], started: float
                          ) -> tuple[int, bytes, httpx.Headers, int]:
        budget = self._settings.retry_budget
        attempt = 0
        while True:
            attempt += 1
            try:
                with self._slot(url):
                    status, body, response_headers = self._get_once(url, headers)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                error: Exception = exc
                status, body, response_headers, wait = 0, b"", httpx.Headers(), None
            else:
                if status not in _RETRY_STATUSES or looks_like_challenge(status, body):
                    return status, body, response_headers, attempt
                error = FetchError(f"HTTP {status} from {url}")
                wait = retry_after_seconds(response_headers.get("retry-after"), time.time())
            if wait is None:
                wait = min(30.0, 0.5 * 2 ** (attempt - 1)) * (0.5 + random.random() / 2)  # noqa: S311
            spent = time.monotonic() - started
            if attempt > self._settings.retries or spent + wait > budget:
                if status:
                    if status in _RETRY_STATUSES and attempt > 1:
                        raise FetchError(f"HTTP {status} from {url} after {attempt} attempts",
                                         status=status, kind=FailureKind.HTTP)
                    return status, body, response_headers, attempt
                raise FetchError(f"cannot connect to {urlsplit(url).netloc}: "
                                 f"{_reason(error)}",
                                 kind=FailureKind.TIMEOUT if isinstance(
                                     error, httpx.ConnectTimeout) else FailureKind.NETWORK
                                 ) from error
            log.info("retrying %s in %.1fs (%s)", url, wait, _reason(error))
            self._sleep(wait)

    def _get_once(self, url: str, headers: dict[str, str]) -> tuple[int, bytes, httpx.Headers]:
        cap = self._settings.max_bytes
        try:
            with self._client.stream("GET", url, headers=headers) as response:
                length = response.headers.get("content-length")
                if length and length.isdigit() and int(length) > cap:
                    raise FetchError(f"response from {url} is {int(length):,} bytes, "
                                     f"over the {cap:,}-byte cap", kind=FailureKind.TOO_LARGE)
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > cap:
                        raise FetchError(f"response from {url} is over the {cap:,}-byte cap",
                                         kind=FailureKind.TOO_LARGE)
                    chunks.append(chunk)
                return response.status_code, b"".join(chunks), response.headers
        except (httpx.ConnectError, httpx.ConnectTimeout):
            raise
        except httpx.RemoteProtocolError as exc:
            raise FetchError(f"truncated or malformed response from {url}: {exc}") from exc
        except httpx.TimeoutException as exc:
            raise FetchError(f"timed out reading {url}", kind=FailureKind.TIMEOUT) from exc
        except httpx.HTTPError as exc:
            raise FetchError(f"cannot fetch {url}: {_reason(exc)}") from exc

    def close(self) -> None:
        self._client.close()


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
