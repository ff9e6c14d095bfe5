"""A webhook receiver that keeps one post per ``Idempotency-Key``, as a careful receiver does.

Every request is logged in :attr:`WebhookReceiver.requests` with its key; only the first
request with a key becomes a post in :attr:`WebhookReceiver.posts`, later ones get the same
id back. ``fail_next`` answers the next requests with an error status; ``on_accept`` runs
after a post is kept and before the answer goes out (a crash test kills the sender there).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

PATH = "/hook"


class WebhookReceiver:
    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.posts: list[dict[str, Any]] = []
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.on_accept: Callable[[], None] | None = None
        self.always: int | None = None  # answer every request with this status
        self._failures: list[tuple[int, dict[str, str]]] = []
        server.expect_request(PATH, method="POST").respond_with_handler(self.handle)

    @property
    def url(self) -> str:
        return self.server.url_for(PATH)

    def fail_next(self, status: int, *, count: int = 1,
                  headers: dict[str, str] | None = None) -> None:
        self._failures.extend([(status, headers or {})] * count)

    def texts(self) -> list[str]:
        return [post["text"] for post in self.posts]

    def handle(self, request: Request) -> Response:
        key = request.headers.get("Idempotency-Key", "")
        payload: dict[str, Any] = request.get_json(silent=True) or {}
        self.requests.append((key, payload))
        if self.always is not None:
            return Response("refused", status=self.always)
        if self._failures:
            status, headers = self._failures.pop(0)
            return Response("try later", status=status, headers=headers)
        for number, post in enumerate(self.posts, start=1):
            if post.get("idempotency_key") == key:
                return _json(200, {"id": f"hook-{number}"})
        self.posts.append(payload)
        if self.on_accept is not None:
            self.on_accept()
        return _json(201, {"id": f"hook-{len(self.posts)}"})


def _json(status: int, body: Any) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")
