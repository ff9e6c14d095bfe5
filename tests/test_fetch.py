"""The fetcher against local servers: politeness, retries, limits and refusals."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from lettermon.errors import BlockedError, FetchError
from lettermon.settings import HttpSettings
from lettermon.watch.fetch import Fetcher, make_client

from letter_server import LetterSite, serve
from widget import challenge_page, make_signatories

CONTACT = "https://example.org/lettermon-contact"
PAGE = "http://letters.test/open-letter/"

Handler = Callable[[httpx.Request], httpx.Response]


def settings(**changes: Any) -> HttpSettings:
    values: dict[str, Any] = {"retries": 2, "retry_budget": 5, "timeout": 5,
                              "contact_url": CONTACT}
    values.update(changes)
    return HttpSettings(**values)


class Recorder:
    """A MockTransport handler that records every request and answers from a script."""

    def __init__(self, *responses: httpx.Response | Handler) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.responses.pop(0) if len(self.responses) > 1 else self.responses[0]
        if callable(answer):
            return answer(request)
        # a fresh copy each time: the last answer may be given again and again
        return httpx.Response(answer.status_code, headers=answer.headers,
                              content=answer.content)


def mock_fetcher(recorder: Recorder, sleeps: list[float] | None = None,
                 **changes: Any) -> Fetcher:
    http = settings(**changes)
    sleep = sleeps.append if sleeps is not None else _no_sleep
    return Fetcher(make_client(http, httpx.MockTransport(recorder)), http, sleep=sleep)


def _no_sleep(seconds: float) -> None:
    raise AssertionError(f"the fetcher was not expected to sleep ({seconds}s)")


def html(status: int = 200, body: bytes = b"<html>letter</html>", **headers: str
         ) -> httpx.Response:
    return httpx.Response(status, content=body, headers={
        "Content-Type": "text/html", **{k.replace("_", "-"): v for k, v in headers.items()}})


# -- politeness -------------------------------------------------------------------------

def test_user_agent_names_lettermon_and_the_contact_url() -> None:
    recorder = Recorder(html())
    mock_fetcher(recorder).get(PAGE)
    agent = recorder.requests[0].headers["User-Agent"]
    assert agent.startswith("lettermon/")
    assert CONTACT in agent


def test_user_agent_reaches_a_real_server() -> None:
    with serve(LetterSite(make_signatories(3, seed=1))) as site:
        http = settings()
        fetcher = Fetcher(make_client(http), http, sleep=_no_sleep)
        seen: list[str] = []
        original = site.respond

        def respond(target: str, headers: dict[str, str]) -> Any:
            seen.append(headers.get("user-agent", ""))
            return original(target, headers)

        site.respond = respond  # type: ignore[method-assign]
        try:
            result = fetcher.get(site.url)
        finally:
            fetcher.close()
    assert result.status == 200
    assert b"pdb-list" in result.body
    assert len(seen) == 1
    assert CONTACT in seen[0]


def test_conditional_get_sends_validators_and_304_costs_no_body() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if (request.headers.get("If-None-Match") == '"v1"'
                and request.headers.get("If-Modified-Since") == "Mon, 01 Jun 2026 10:00:00 GMT"):
            return httpx.Response(304, headers={"ETag": '"v1"'})
        return html(ETag='"v1"')

    recorder = Recorder(answer)
    result = mock_fetcher(recorder).get(
        PAGE, etag='"v1"', last_modified="Mon, 01 Jun 2026 10:00:00 GMT")
    assert result.not_modified
    assert result.status == 304
    assert result.body == b""
    assert result.etag == '"v1"'
    assert result.last_modified == "Mon, 01 Jun 2026 10:00:00 GMT"
    assert len(recorder.requests) == 1


def test_no_validators_means_an_unconditional_get() -> None:
    recorder = Recorder(html(ETag='"v2"', Last_Modified="Tue, 02 Jun 2026 10:00:00 GMT"))
    result = mock_fetcher(recorder).get(PAGE)
    sent = recorder.requests[0].headers
    assert "If-None-Match" not in sent
    assert "If-Modified-Since" not in sent
    assert not result.not_modified
    assert result.body == b"<html>letter</html>"
    assert (result.etag, result.last_modified) == ('"v2"', "Tue, 02 Jun 2026 10:00:00 GMT")


def test_real_site_answers_304_to_its_own_etag() -> None:
    with serve(LetterSite(make_signatories(5, seed=2))) as site:
        http = settings()
        fetcher = Fetcher(make_client(http), http, sleep=_no_sleep)
        try:
            first = fetcher.get(site.url)
            second = fetcher.get(site.url, etag=first.etag)
        finally:
            fetcher.close()
    assert first.etag
    assert second.not_modified
    assert second.body == b""
    assert [status for _, status in site.requests] == [200, 304]


# -- retries ----------------------------------------------------------------------------

def test_503_then_200_is_retried() -> None:
    recorder = Recorder(html(503, b"<h1>busy</h1>"), html())
    sleeps: list[float] = []
    result = mock_fetcher(recorder, sleeps).get(PAGE)
    assert result.status == 200
    assert result.body == b"<html>letter</html>"
    assert len(recorder.requests) == 2
    assert result.requests == 2
    assert len(sleeps) == 1
    assert 0 < sleeps[0] <= 30


def test_5xx_until_retries_run_out_is_a_fetch_error() -> None:
    recorder = Recorder(html(502, b"<h1>bad gateway</h1>"))
    sleeps: list[float] = []
    with pytest.raises(FetchError, match="HTTP 502") as caught:
        mock_fetcher(recorder, sleeps, retries=2).get(PAGE)
    assert not isinstance(caught.value, BlockedError)
    assert len(recorder.requests) == 3  # one try and two retries
    assert len(sleeps) == 2


def test_429_retry_after_is_honoured() -> None:
    recorder = Recorder(html(429, b"slow down", Retry_After="1"), html())
    sleeps: list[float] = []
    result = mock_fetcher(recorder, sleeps).get(PAGE)
    assert result.status == 200
    assert sleeps == [1.0]
    assert len(recorder.requests) == 2


def test_retry_after_as_an_http_date_is_honoured() -> None:
    when = time.time() + 3
    stamp = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(when))
    recorder = Recorder(html(503, b"maintenance", Retry_After=stamp), html())
    sleeps: list[float] = []
    mock_fetcher(recorder, sleeps, retry_budget=30).get(PAGE)
    assert len(sleeps) == 1
    assert 1.0 <= sleeps[0] <= 3.5


def test_retry_after_beyond_the_budget_fails_without_waiting() -> None:
    recorder = Recorder(html(429, b"come back tomorrow", Retry_After="120"), html())
    sleeps: list[float] = []
    with pytest.raises(FetchError, match="429"):
        mock_fetcher(recorder, sleeps, retry_budget=5).get(PAGE)
    assert sleeps == []
    assert len(recorder.requests) == 1


def test_404_is_not_retried() -> None:
    recorder = Recorder(html(404, b"<h1>Not found</h1>"))
    with pytest.raises(FetchError, match="HTTP 404"):
        mock_fetcher(recorder).get(PAGE)
    assert len(recorder.requests) == 1


def test_connection_refused_is_retried_then_names_the_host() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # nothing listens on ``port`` now
    http = settings(retries=2)
    sleeps: list[float] = []
    fetcher = Fetcher(make_client(http), http, sleep=sleeps.append)
    try:
        with pytest.raises(FetchError, match=f"cannot connect to 127.0.0.1:{port}"):
            fetcher.get(f"http://127.0.0.1:{port}/letter/")
    finally:
        fetcher.close()
    assert len(sleeps) == 2


# -- limits -----------------------------------------------------------------------------

def test_body_over_the_cap_by_content_length_is_refused() -> None:
    recorder = Recorder(html(body=b"x" * 5000))
    with pytest.raises(FetchError, match="cap") as caught:
        mock_fetcher(recorder, max_bytes=1000).get(PAGE)
    assert "1,000" in str(caught.value)
    assert len(recorder.requests) == 1  # too big is not a reason to retry


def test_body_over_the_cap_while_streaming_is_refused_early() -> None:
    produced: list[int] = []

    def chunks() -> Iterator[bytes]:
        for i in range(1000):
            produced.append(i)
            yield b"y" * 1024

    def answer(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=chunks(), headers={"Content-Type": "text/html"})

    recorder = Recorder(answer)
    with pytest.raises(FetchError, match="over the 10,000-byte cap"):
        mock_fetcher(recorder, max_bytes=10_000).get(PAGE)
    assert "content-length" not in {k.lower() for k in recorder.requests[0].headers}
    assert len(produced) < 20  # stopped reading soon after the cap, not at the end


def test_body_at_the_cap_is_accepted() -> None:
    recorder = Recorder(html(body=b"z" * 1000))
    assert len(mock_fetcher(recorder, max_bytes=1000).get(PAGE).body) == 1000


# -- redirects --------------------------------------------------------------------------

def test_redirect_to_another_host_is_refused_without_asking_it() -> None:
    recorder = Recorder(httpx.Response(302, headers={"Location": "https://elsewhere.test/x"}),
                        html())
    with pytest.raises(FetchError, match=r"another site \(elsewhere.test\)"):
        mock_fetcher(recorder).get(PAGE)
    assert [r.url.host for r in recorder.requests] == ["letters.test"]


def test_redirect_to_another_port_of_the_same_host_is_refused() -> None:
    recorder = Recorder(httpx.Response(301, headers={"Location": "http://letters.test:8080/"}),
                        html())
    with pytest.raises(FetchError, match="another site"):
        mock_fetcher(recorder).get(PAGE)
    assert len(recorder.requests) == 1


def test_same_origin_redirect_is_followed() -> None:
    recorder = Recorder(httpx.Response(301, headers={"Location": "/letters/moved/"}),
                        html(body=b"<html>moved letter</html>"))
    result = mock_fetcher(recorder).get(PAGE)
    assert result.url == "http://letters.test/letters/moved/"
    assert result.body == b"<html>moved letter</html>"
    assert [str(r.url) for r in recorder.requests] == [PAGE, "http://letters.test/letters/moved/"]


def test_a_page_link_to_another_site_is_never_requested() -> None:
    recorder = Recorder(html())
    with pytest.raises(FetchError, match="refusing to leave"):
        mock_fetcher(recorder).get("https://elsewhere.test/?listpage=2", same_origin_as=PAGE)
    assert recorder.requests == []


def test_endless_redirects_stop() -> None:
    recorder = Recorder(httpx.Response(302, headers={"Location": PAGE}))
    with pytest.raises(FetchError, match="redirects"):
        mock_fetcher(recorder).get(PAGE)
    assert len(recorder.requests) <= 10


# -- challenge pages --------------------------------------------------------------------

@pytest.mark.parametrize("status", [503, 403])
def test_challenge_page_is_blocked_and_not_retried(status: int) -> None:
    recorder = Recorder(html(status, challenge_page().encode()), html())
    with pytest.raises(BlockedError, match=f"HTTP {status}"):
        mock_fetcher(recorder).get(PAGE)
    assert len(recorder.requests) == 1


def test_a_plain_403_is_a_fetch_error_not_blocked() -> None:
    recorder = Recorder(html(403, b"<h1>Forbidden</h1>"))
    with pytest.raises(FetchError, match="HTTP 403") as caught:
        mock_fetcher(recorder).get(PAGE)
    assert not isinstance(caught.value, BlockedError)


# -- requests in flight per host ----------------------------------------------------------

class _Counting(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    lock = threading.Lock()
    active = 0
    peak = 0

    def do_GET(self) -> None:
        cls = type(self)
        with cls.lock:
            cls.active += 1
            cls.peak = max(cls.peak, cls.active)
        time.sleep(0.15)
        with cls.lock:
            cls.active -= 1
        body = b"<html>ok</html>"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def counting_server() -> Iterator[tuple[str, type[_Counting]]]:
    handler = type("Counting", (_Counting,), {"lock": threading.Lock(), "active": 0, "peak": 0})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.mark.parametrize("per_host", [1, 2])
def test_at_most_per_host_requests_in_flight(per_host: int) -> None:
    with counting_server() as (base, handler):
        http = settings(per_host=per_host)
        fetcher = Fetcher(make_client(http), http, sleep=_no_sleep)
        errors: list[BaseException] = []
        start = threading.Barrier(6)

        def worker(i: int) -> None:
            start.wait()
            try:
                fetcher.get(f"{base}/letter/?listpage={i}")
            except BaseException as exc:  # noqa: BLE001 - reported by the assert below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        fetcher.close()
    assert errors == []
    assert handler.peak == per_host  # never more, and the limit is not a global lock


def test_per_host_limit_is_per_host() -> None:
    with counting_server() as (base_a, handler_a), counting_server() as (base_b, handler_b):
        http = settings(per_host=1)
        fetcher = Fetcher(make_client(http), http, sleep=_no_sleep)
        started = time.monotonic()
        threads = [threading.Thread(target=fetcher.get, args=(f"{base}/letter/",))
                   for base in (base_a, base_b, base_a, base_b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        elapsed = time.monotonic() - started
        fetcher.close()
    assert handler_a.peak == 1
    assert handler_b.peak == 1
    assert elapsed < 0.55  # two hosts in parallel: about 2 x 0.15 s, not 4 x 0.15 s
