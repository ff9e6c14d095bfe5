"""pytest fixtures for the channel fakes. Use with ``pytest_plugins = ["fakes.fixtures"]``.

Mastodon uses the mastodon-mock package (a real local server of the Mastodon API):
:func:`mastodon_server` is one server per test session, reset to its seed (alice, bob,
carol) before each test, and :func:`mastodon_fault` adds a fault rule (429, 503, …).
mastodon-mock's own ``reset()`` and ``fault()`` helpers need the ``httpx2`` package, so
both talk to its ``/api/v1/_mock`` control plane with httpx instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from pytest_httpserver import HTTPServer

from fakes.bluesky_pds import FakePds
from fakes.webhook_receiver import WebhookReceiver
from fakes.x_api import FakeXApi


def _serve() -> Iterator[HTTPServer]:
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def _x_server() -> Iterator[HTTPServer]:
    yield from _serve()


@pytest.fixture(scope="session")
def _pds_server() -> Iterator[HTTPServer]:
    yield from _serve()


@pytest.fixture
def x_api(_x_server: HTTPServer) -> Iterator[FakeXApi]:
    """A fresh fake of X's API (the HTTP server itself lives for the whole session)."""
    _x_server.clear()
    yield FakeXApi(_x_server)
    _x_server.clear()


@pytest.fixture
def bluesky_pds(_pds_server: HTTPServer) -> Iterator[FakePds]:
    """A fresh fake PDS (the HTTP server itself lives for the whole session)."""
    _pds_server.clear()
    yield FakePds(_pds_server)
    _pds_server.clear()


@pytest.fixture(scope="session")
def _mastodon_session_server() -> Iterator[Any]:
    from mastodon_mock.testing.server import MockServer

    with MockServer() as server:
        yield server


@pytest.fixture
def mastodon_server(_mastodon_session_server: Any) -> Any:
    """mastodon-mock's server, back at its seed state with no fault rules."""
    base = _mastodon_session_server.base_url
    httpx.delete(f"{base}/api/v1/_mock/faults").raise_for_status()
    httpx.post(f"{base}/api/v1/_mock/reset").raise_for_status()
    return _mastodon_session_server


@pytest.fixture
def mastodon_fault(mastodon_server: Any) -> Callable[..., dict[str, Any]]:
    """``mastodon_fault(path=..., status=..., effect="status"|"ratelimit", count=1)``."""

    def add(*, path: str, status: int, effect: str = "status", count: int = 1,
            headers: dict[str, str] | None = None) -> dict[str, Any]:
        rule = {"match": {"path": path},
                "effect": {"type": effect, "status": status, "headers": headers or {}},
                "count": count}
        response = httpx.post(f"{mastodon_server.base_url}/api/v1/_mock/faults", json=rule)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    return add


@pytest.fixture
def webhook_receiver(httpserver: HTTPServer) -> WebhookReceiver:
    """A webhook receiver on pytest-httpserver's server that dedupes on Idempotency-Key."""
    return WebhookReceiver(httpserver)
