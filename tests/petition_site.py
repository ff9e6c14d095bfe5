"""A local site serving documents that tests change at will: count-only pages, JSON APIs.

Each path serves one :class:`Doc` (its body made on demand, so a test changes the figures
between polls). Responses carry an ETag and answer a matching ``If-None-Match`` with 304.
Faults queued with :meth:`PetitionSite.fail` are served one per request, in order, as
``(status, content type, body)``.
"""

from __future__ import annotations

import hashlib
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

HTML = "text/html; charset=UTF-8"
JSON = "application/json; charset=utf-8"


@dataclass
class Doc:
    body: Callable[[], bytes]
    content_type: str = HTML


@dataclass
class PetitionSite:
    docs: dict[str, Doc] = field(default_factory=dict)
    validators: bool = True
    requests: list[tuple[str, int]] = field(default_factory=list)  # (path, status)
    faults: deque[tuple[int, str, bytes]] = field(default_factory=deque)
    base_url: str = ""

    def url(self, path: str) -> str:
        return self.base_url + path

    def serve_doc(self, path: str, body: Callable[[], bytes], content_type: str = HTML) -> str:
        self.docs[path] = Doc(body, content_type)
        return self.url(path)

    def fail(self, status: int, body: bytes = b"<h1>Error</h1>", content_type: str = HTML
             ) -> None:
        self.faults.append((status, content_type, body))

    def respond(self, target: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        if self.faults:
            status, content_type, body = self.faults.popleft()
            return status, {"Content-Type": content_type}, body
        doc = self.docs.get(urlsplit(target).path)
        if doc is None:
            return 404, {"Content-Type": HTML}, b"<h1>Not found</h1>"
        body = doc.body()
        out = {"Content-Type": doc.content_type}
        if self.validators:
            tag = '"' + hashlib.md5(body).hexdigest() + '"'
            out["ETag"] = tag
            if headers.get("if-none-match") == tag:
                return 304, {"ETag": tag}, b""
        return 200, out, body


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        site: PetitionSite = self.server.site  # type: ignore[attr-defined]
        status, headers, body = site.respond(
            self.path, {k.lower(): v for k, v in self.headers.items()})
        site.requests.append((self.path, status))
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serve_petitions(site: PetitionSite | None = None) -> Iterator[PetitionSite]:
    site = site or PetitionSite()
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
