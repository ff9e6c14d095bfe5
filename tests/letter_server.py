"""A local web site serving a Participants Database letter that tests can grow and break.

The list is kept in signing order (oldest first); ``order`` decides how the widget shows
it. Pages are rendered on demand by :mod:`widget`, so a 100,000-signature letter costs
nothing until a page is asked for. Faults queued with :meth:`LetterSite.fail` are served
one per request, in order.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

import widget

PATH = widget.DEFAULT_PATH


@dataclass
class Fault:
    kind: Literal["status", "challenge", "garbage", "truncate", "huge", "redirect", "layout",
                  "html"]
    status: int = 0  # 0: the kind's usual status
    size: int = 11_000_000  # bytes of a "huge" body
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass
class LetterSite:
    rows: list[dict[str, str]]
    order: Literal["newest_first", "oldest_first"] = "newest_first"
    markup: Literal["2019", "2020", "2022"] = "2022"
    per_page: int = 100
    instance: int = 2
    validators: bool = True
    compress: bool = False  # gzip each page when the request accepts gzip
    render: dict[str, Any] = field(default_factory=dict)
    on_page: Callable[[LetterSite, int], None] | None = None
    requests: list[tuple[str, int]] = field(default_factory=list)  # (path?query, status)
    faults: deque[Fault] = field(default_factory=deque)
    stale: list[dict[str, str]] | None = None  # pages 2 and on come from this older list
    lock: threading.Lock = field(default_factory=threading.Lock)
    base_url: str = ""

    @property
    def url(self) -> str:
        return self.base_url + PATH

    def displayed(self) -> list[dict[str, str]]:
        return self.rows[::-1] if self.order == "newest_first" else list(self.rows)

    # -- what a letter's organisers and signatories do ------------------------------------
    def sign(self, rows: list[dict[str, str]]) -> None:
        with self.lock:
            self.rows.extend(rows)

    def remove(self, index: int) -> dict[str, str]:
        with self.lock:
            return self.rows.pop(index)

    def edit(self, index: int, **changes: str) -> None:
        """An edited record moves to the newest end, as the widget's default order does."""
        with self.lock:
            row = {**self.rows.pop(index), **changes}
            self.rows.append(row)

    def fail(self, *faults: Fault) -> None:
        self.faults.extend(faults)

    def cache_later_pages(self) -> None:
        """From now on serve pages 2 and on as they are now, like a stale page cache."""
        with self.lock:
            self.stale = list(self.rows)

    def page_requests(self) -> list[str]:
        return [p for p, _ in self.requests]

    # -- serving --------------------------------------------------------------------------
    def respond(self, target: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(target)
        if parts.path != PATH:
            return 404, {}, b"<html><body>Not found</body></html>"
        query = parse_qs(parts.query)
        page = int(query.get("listpage", ["1"])[0])
        if self.on_page is not None:
            self.on_page(self, page)
        if self.faults:
            return self._fault(self.faults.popleft())
        with self.lock:
            rows = self.displayed()
            if self.stale is not None and page > 1:
                rows = self.stale[::-1] if self.order == "newest_first" else list(self.stale)
            html = widget.render_page(
                rows, page, per_page=self.per_page, markup=self.markup,
                instance=self.instance, path=PATH, **self.render)
        body = html.encode("utf-8")
        out = {"Content-Type": "text/html; charset=UTF-8"}
        if self.validators:
            tag = '"' + hashlib.md5(body).hexdigest() + '"'
            out["ETag"] = tag
            if headers.get("if-none-match") == tag:
                return 304, {"ETag": tag}, b""
        if self.compress and "gzip" in headers.get("accept-encoding", ""):
            out["Content-Encoding"] = "gzip"
            body = gzip.compress(body)
        return 200, out, body

    def _fault(self, fault: Fault) -> tuple[int, dict[str, str], bytes]:
        html = {"Content-Type": "text/html; charset=UTF-8"}
        if fault.kind == "status":
            return fault.status or 500, {**html, **fault.headers}, fault.body or b"<h1>Error</h1>"
        if fault.kind == "challenge":
            return fault.status or 503, html, widget.challenge_page().encode()
        if fault.kind == "garbage":
            return 200, html, bytes(range(256)) * 64
        if fault.kind == "layout":
            return 200, html, widget.render_signup_only_page(PATH).encode()
        if fault.kind == "huge":
            return 200, html, b"<html>" + b"x" * fault.size
        if fault.kind == "redirect":
            return 302, {"Location": fault.headers["Location"]}, b""
        if fault.kind == "html":
            return 200, html, fault.body
        # truncate: promise more bytes than are sent, then close
        with self.lock:
            body = widget.render_page(self.displayed(), 1, per_page=self.per_page,
                                      markup=self.markup, instance=self.instance,
                                      path=PATH).encode()
        return 200, {**html, "Content-Length": str(len(body)), "X-Truncate": "1"}, body


class _Handler(BaseHTTPRequestHandler):
    site: LetterSite
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes

    def do_GET(self) -> None:
        site = self.server.site  # type: ignore[attr-defined]
        request_headers = {k.lower(): v for k, v in self.headers.items()}
        status, headers, body = site.respond(self.path, request_headers)
        site.requests.append((self.path, status))
        truncate = headers.pop("X-Truncate", None)
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        if "Content-Length" not in headers:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if truncate:
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serve(site: LetterSite) -> Iterator[LetterSite]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.site = site  # type: ignore[attr-defined]
    site.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
