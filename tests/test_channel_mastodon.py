"""The Mastodon channel through the real Mastodon.py against mastodon-mock's local server."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from lettermon.announce.channels.base import Post
from lettermon.announce.channels.mastodon import MastodonPoster
from lettermon.announce.channels.mastodon import MastodonSettings as MastodonChannel
from lettermon.errors import PostError, RateLimited

from posting import build_channel

pytest_plugins = ["fakes.fixtures"]

TOKEN = "alice_token"  # mastodon-mock's seeded account "alice"


def settings(base_url: str, **overrides: Any) -> MastodonChannel:
    values: dict[str, Any] = {"kind": "mastodon", "name": "fedi", "api_base_url": base_url,
                              "access_token": SecretStr(TOKEN), "timeout": 5}
    values.update(overrides)
    return MastodonChannel.model_validate(values)


def make_post(key: str = "rekognition:500:fedi", text: str = "500 have signed. #ai",
              **kw: Any) -> Post:
    return Post(key=key, text=text, letter="rekognition", milestone=500, count=500,
                url="https://letter.example.org/", **kw)


@pytest.fixture
def poster(mastodon_server: Any) -> Iterator[MastodonPoster]:
    channel = MastodonPoster(settings(mastodon_server.base_url))
    yield channel
    channel.close()


def statuses(server: Any) -> list[Any]:
    api = server.client()
    return list(api.account_statuses(api.me().id))


def test_send_posts_a_status(mastodon_server: Any) -> None:
    channel = MastodonPoster(settings(mastodon_server.base_url, visibility="unlisted",
                                      language="en"))
    posted = channel.send(make_post())

    [status] = statuses(mastodon_server)
    assert str(status.id) == posted.remote_id
    assert posted.remote_url == status.url
    assert "500 have signed." in status.content
    assert (status.visibility, status.language) == ("unlisted", "en")


def test_repeated_key_returns_the_first_status(mastodon_server: Any,
                                               poster: MastodonPoster) -> None:
    first = poster.send(make_post())
    again = poster.send(make_post())

    assert again == first
    assert len(statuses(mastodon_server)) == 1
    assert poster.find_existing(make_post()) == first  # found among the latest statuses
    other = Post(key="k2", text="A different post", letter="rekognition", milestone=600,
                 count=600, url="https://letter.example.org/")
    assert poster.find_existing(other) is None
    assert poster.send(make_post(key="rekognition:600:fedi")).remote_id != first.remote_id


def test_image_is_attached_with_its_description(mastodon_server: Any,
                                                poster: MastodonPoster) -> None:
    png = bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000100ffff0300000600"
        "05577bf9ce0000000049454e44ae426082")
    posted = poster.send(make_post(image=png, image_alt="Signatures per day"))

    status = mastodon_server.client().status(posted.remote_id)
    [media] = status.media_attachments
    assert media.description == "Signatures per day"


def test_rate_limit_is_thrown_not_waited(mastodon_server: Any, poster: MastodonPoster,
                                         mastodon_fault: Callable[..., Any]) -> None:
    mastodon_fault(path="/api/v1/statuses", status=429, effect="ratelimit")

    with pytest.raises(RateLimited) as caught:
        poster.send(make_post())

    assert caught.value.retry_after is not None
    assert 250 <= caught.value.retry_after <= 302  # Mastodon.py corrects for clock skew
    assert statuses(mastodon_server) == []


def test_service_unavailable_is_temporary(mastodon_server: Any, poster: MastodonPoster,
                                          mastodon_fault: Callable[..., Any]) -> None:
    mastodon_fault(path="/api/v1/statuses", status=503)

    with pytest.raises(PostError) as caught:
        poster.send(make_post())

    assert caught.value.permanent is False
    assert poster.send(make_post()).remote_id  # the next attempt goes through


def test_rejected_text_is_permanent(poster: MastodonPoster) -> None:
    with pytest.raises(PostError) as caught:
        poster.send(make_post(text="x" * 600))
    assert caught.value.permanent is True


def test_bad_token_is_permanent_and_never_shown(
        mastodon_server: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    channel = MastodonPoster(settings(mastodon_server.base_url,
                                      access_token=SecretStr("revoked-token-5150")))

    with pytest.raises(PostError) as caught:
        channel.send(make_post())

    assert caught.value.permanent is True
    for text in (str(caught.value), repr(channel), caplog.text):
        assert "revoked-token-5150" not in text


def test_missing_token_names_the_variable(mastodon_server: Any) -> None:
    channel = MastodonPoster(settings(mastodon_server.base_url, access_token=None))
    with pytest.raises(PostError, match="LETTERMON_FEDI_ACCESS_TOKEN") as caught:
        channel.send(make_post())
    assert caught.value.permanent is True


def test_build_channel_counts_like_mastodon(mastodon_server: Any) -> None:
    channel = build_channel(settings(mastodon_server.base_url))
    assert isinstance(channel, MastodonPoster)
    assert (channel.kind, channel.limit) == ("mastodon", 500)
    assert channel.length("hi @alice@example.social https://example.org/" + "x" * 50) == (
        3 + len("@alice") + 1 + 23)
