"""A pass-through proxy with an "on accept" hook, for servers that have none (mastodon-mock).

Every request goes to ``upstream`` unchanged. When ``upstream`` accepts a POST to ``path``
(a 2xx answer), :attr:`AcceptProxy.on_accept` runs before the answer is passed back: a crash
test kills the client there, after the post exists and before the client hears of it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-encoding",
               "content-length", "host"}


class AcceptProxy:
    def __init__(self, upstream: str, path: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.path = path
        self.on_accept: Callable[[], None] | None = None
        self.accepted = 0
        self.url = ""

    def forward(self, method: str, target: str, headers: dict[str, str], body: bytes
                ) -> tuple[int, list[tuple[str, str]], bytes]:
        sent = {k: v for k, v in headers.items() if k.lower() not in _HOP_BY_HOP}
        response = httpx.request(method, self.upstream + target, headers=sent, content=body,
                                 timeout=10)
        path = target.split("?", maxsplit=1)[0]
        if method == "POST" and path == self.path and response.is_success:
            self.accepted += 1
            if self.on_accept is not None:
                self.on_accept()
        out = [(k, v) for k, v in response.headers.items() if k.lower() not in _HOP_BY_HOP]
        return response.status_code, out, response.content


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _relay(self) -> None:
        proxy: AcceptProxy = self.server.proxy  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status, headers, content = proxy.forward(self.command, self.path,
                                                 dict(self.headers.items()), body)
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _relay

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client killed mid-request is what the crash tests are about


@contextmanager
def serve(proxy: AcceptProxy) -> Iterator[AcceptProxy]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.proxy = proxy  # type: ignore[attr-defined]
    proxy.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
