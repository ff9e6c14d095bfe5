"""The webhook channel against a local HTTP server."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from lettermon.announce.channels.base import Post
from lettermon.announce.channels.webhook import WebhookPoster
from lettermon.announce.channels.webhook import WebhookSettings as WebhookChannel
from lettermon.errors import DuplicatePost, PostError, RateLimited

from posting import build_channel

SECRET = "hook-secret-8c1d3e"


def settings(url: str, **overrides: Any) -> WebhookChannel:
    values: dict[str, Any] = {"kind": "webhook", "name": "hook", "url": url,
                              "secret": SecretStr(SECRET), "timeout": 5}
    values.update(overrides)
    return WebhookChannel.model_validate(values)


POST = Post(key="rekognition:500:hook", text="500 have signed", letter="rekognition",
            milestone=500, count=501, url="https://letter.example.org/")


@pytest.fixture
def poster(httpserver: HTTPServer) -> Iterator[WebhookPoster]:
    channel = WebhookPoster(settings(httpserver.url_for("/hook")))
    yield channel
    channel.close()


def test_send_posts_json_with_key_and_bearer(httpserver: HTTPServer,
                                             poster: WebhookPoster) -> None:
    seen: list[Request] = []

    def handler(request: Request) -> Response:
        seen.append(request)
        return Response(json.dumps({"id": 77}), status=201, content_type="application/json")

    httpserver.expect_request("/hook", method="POST").respond_with_handler(handler)

    posted = poster.send(POST)

    [request] = seen
    assert request.get_json() == {
        "letter": "rekognition", "milestone": 500, "count": 501, "text": "500 have signed",
        "url": "https://letter.example.org/", "idempotency_key": "rekognition:500:hook"}
    assert request.headers["Idempotency-Key"] == "rekognition:500:hook"
    assert request.headers["Authorization"] == f"Bearer {SECRET}"
    assert posted.remote_id == "77"


def test_no_secret_means_no_authorization_header(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook").respond_with_data("ok")
    channel = WebhookPoster(settings(httpserver.url_for("/hook"), secret=None))
    assert channel.send(POST).remote_id == POST.key  # no JSON id: the key stands in
    [(request, _)] = httpserver.log
    assert "Authorization" not in request.headers


def test_conflict_is_a_duplicate(httpserver: HTTPServer, poster: WebhookPoster) -> None:
    httpserver.expect_request("/hook").respond_with_json({"id": "first"}, status=409)
    with pytest.raises(DuplicatePost) as caught:
        poster.send(POST)
    assert caught.value.remote_id == "first"


def test_too_many_requests_carries_retry_after(httpserver: HTTPServer,
                                               poster: WebhookPoster) -> None:
    httpserver.expect_request("/hook").respond_with_data("", status=429,
                                                         headers={"Retry-After": "30"})
    with pytest.raises(RateLimited) as caught:
        poster.send(POST)
    assert caught.value.retry_after == 30


@pytest.mark.parametrize(("status", "permanent"), [(400, True), (404, True), (500, False),
                                                   (503, False)])
def test_errors_by_status(httpserver: HTTPServer, poster: WebhookPoster, status: int,
                          permanent: bool) -> None:
    httpserver.expect_request("/hook").respond_with_data("no", status=status)
    with pytest.raises(PostError) as caught:
        poster.send(POST)
    assert caught.value.permanent is permanent
    assert not isinstance(caught.value, DuplicatePost | RateLimited)


def test_unreachable_host_is_temporary_and_secret_free(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    channel = WebhookPoster(settings(f"http://127.0.0.1:{port}/t0k3n-in-path"))
    with pytest.raises(PostError) as caught:
        channel.send(POST)
    assert caught.value.permanent is False
    for text in (str(caught.value), repr(channel), caplog.text):
        assert SECRET not in text
    assert "t0k3n-in-path" not in str(caught.value)
    channel.close()


def test_build_channel(httpserver: HTTPServer) -> None:
    channel = build_channel(settings(httpserver.url_for("/hook")))
    assert isinstance(channel, WebhookPoster)
    assert (channel.kind, channel.limit) == ("webhook", 4000)
    assert channel.find_existing(POST) is None
    channel.close()
