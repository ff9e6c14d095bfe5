"""The X channel through the real tweepy client against a local fake that checks signatures."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from lettermon.announce.channels.base import Post
from lettermon.announce.channels.x import XPoster, is_link_post
from lettermon.announce.channels.x import XSettings as XChannel
from lettermon.errors import DuplicatePost, PostError, RateLimited

from fakes import x_api
from fakes.x_api import FakeXApi
from posting import build_channel

pytest_plugins = ["fakes.fixtures"]

SECRETS = (x_api.CONSUMER_KEY, x_api.CONSUMER_SECRET, x_api.ACCESS_TOKEN,
           x_api.ACCESS_TOKEN_SECRET)


def settings(base_url: str, **overrides: Any) -> XChannel:
    values: dict[str, Any] = {
        "kind": "x", "name": "x-main", "api_base_url": base_url,
        "consumer_key": SecretStr(x_api.CONSUMER_KEY),
        "consumer_secret": SecretStr(x_api.CONSUMER_SECRET),
        "access_token": SecretStr(x_api.ACCESS_TOKEN),
        "access_token_secret": SecretStr(x_api.ACCESS_TOKEN_SECRET),
        "timeout": 5,
    }
    values.update(overrides)
    return XChannel.model_validate(values)


def make_post(key: str = "rekognition:500:x-main", text: str | None = None,
              **kw: Any) -> Post:
    return Post(key=key, text=text or "500 researchers have now signed the letter.",
                letter="rekognition", milestone=500, count=512,
                url="https://letter.example/rekognition", **kw)


@pytest.fixture
def poster(x_api: FakeXApi) -> Iterator[XPoster]:
    channel = XPoster(settings(x_api.url))
    yield channel
    channel.close()


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


def test_send_posts_a_signed_tweet(x_api: FakeXApi, poster: XPoster) -> None:
    posted = poster.send(make_post())

    assert x_api.posts() == ["500 researchers have now signed the letter."]
    [request] = x_api.received
    assert (request.method, request.path, request.signature_ok) == ("POST", "/2/tweets", True)
    assert posted.remote_id == x_api.tweets[0]["id"]
    assert posted.remote_url == f"https://x.com/i/web/status/{posted.remote_id}"


def test_image_is_uploaded_with_alt_text_and_attached(x_api: FakeXApi, poster: XPoster) -> None:
    poster.send(make_post(image=b"\x89PNG fake", image_alt="Signatures over time"))

    assert [r.path for r in x_api.received] == [
        "/2/media/upload", "/2/media/metadata", "/2/tweets"]
    assert all(r.signature_ok for r in x_api.received)
    [(media_id, media)] = x_api.media.items()
    assert media == {"bytes": b"\x89PNG fake", "alt_text": "Signatures over time"}
    assert x_api.tweets[0]["media_ids"] == media_id


def test_retry_of_the_same_post_is_a_duplicate_pointing_at_the_first(
        x_api: FakeXApi, poster: XPoster) -> None:
    text = "600 have signed & counting: https://letter.example/rekognition"
    first = poster.send(make_post(text=text))

    with pytest.raises(DuplicatePost) as caught:
        poster.send(make_post(text=text))

    assert len(x_api.tweets) == 1
    assert caught.value.remote_id == first.remote_id
    assert caught.value.remote_url == first.remote_url
    assert poster.find_existing(make_post(text=text)) == first


def test_find_existing_is_none_for_an_unposted_text(x_api: FakeXApi, poster: XPoster) -> None:
    poster.send(make_post(text="one"))
    assert poster.find_existing(make_post(text="two")) is None
    assert [r.path for r in x_api.received][-2:] == ["/2/users/me", "/2/users/1234/tweets"]


def test_rate_limit_gives_retry_after_from_the_reset_header(
        x_api: FakeXApi, poster: XPoster) -> None:
    x_api.fail_next(429, reset_in=600)

    with pytest.raises(RateLimited) as caught:
        poster.send(make_post())

    assert caught.value.retry_after is not None
    assert 590 <= caught.value.retry_after <= 600
    assert x_api.tweets == []


def test_server_error_is_temporary(x_api: FakeXApi, poster: XPoster) -> None:
    x_api.fail_next(503)
    with pytest.raises(PostError) as caught:
        poster.send(make_post())
    assert caught.value.permanent is False
    assert poster.send(make_post()).remote_id  # the next attempt goes through


def test_wrong_secret_fails_the_signature_check_permanently(
        x_api: FakeXApi, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    channel = XPoster(settings(x_api.url, consumer_secret=SecretStr("not-the-secret")))

    with pytest.raises(PostError) as caught:
        channel.send(make_post())

    assert caught.value.permanent is True
    assert x_api.received[0].signature_ok is False
    assert x_api.tweets == []
    assert_no_secret(str(caught.value), repr(channel), caplog.text, "not-the-secret")
    assert "not-the-secret" not in caplog.text


def test_no_secret_reaches_the_logs_of_a_successful_post(
        x_api: FakeXApi, poster: XPoster, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    poster.send(make_post(image=b"png", image_alt="chart"))
    assert "Making API request" in caplog.text  # tweepy's debug lines were captured
    assert_no_secret(caplog.text, repr(poster))


def test_missing_key_names_the_variable_not_a_value(x_api: FakeXApi) -> None:
    channel = XPoster(settings(x_api.url, consumer_secret=None))
    with pytest.raises(PostError) as caught:
        channel.send(make_post())
    assert caught.value.permanent is True
    assert "LETTERMON_X_MAIN_CONSUMER_SECRET" in str(caught.value)
    assert x_api.received == []


def test_a_stalled_server_times_out() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []
    thread = threading.Thread(target=lambda: accepted.append(listener.accept()[0]), daemon=True)
    thread.start()
    port = listener.getsockname()[1]
    channel = XPoster(settings(f"http://127.0.0.1:{port}", timeout=0.3))
    try:
        with pytest.raises(PostError) as caught:
            channel.send(make_post())
        assert caught.value.permanent is False
        assert "Timeout" in str(caught.value)
    finally:
        channel.close()
        for conn in accepted:
            conn.close()
        listener.close()


def test_build_channel_and_link_posts(x_api: FakeXApi) -> None:
    channel = build_channel(settings(x_api.url))
    assert isinstance(channel, XPoster)
    assert (channel.kind, channel.limit) == ("x", 280)
    assert channel.length("a" * 10 + " https://example.org/" + "x" * 80) == 10 + 1 + 23
    assert is_link_post("see https://letter.example/x")
    assert is_link_post("see letter.org")
    assert not is_link_post("500 researchers have signed")
