"""The Bluesky channel through the real atproto client against a local fake PDS."""

from __future__ import annotations

import logging
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from lettermon.announce.channels.base import Post
from lettermon.announce.channels.bluesky import BlueskyPoster, record_key, rich_text
from lettermon.announce.channels.bluesky import BlueskySettings as BlueskyChannel
from lettermon.errors import DuplicatePost, PostError, RateLimited

from fakes import bluesky_pds as pds
from fakes.bluesky_pds import FakePds
from posting import build_channel

pytest_plugins = ["fakes.fixtures"]

TEXT = "500 researchers have now signed https://letter.example.org/rek #NoRekognition"


def settings(base_url: str, **overrides: Any) -> BlueskyChannel:
    values: dict[str, Any] = {
        "kind": "bluesky", "name": "bsky", "base_url": base_url,
        "handle": pds.HANDLE, "app_password": SecretStr(pds.APP_PASSWORD),
        "timeout": 5,
    }
    values.update(overrides)
    return BlueskyChannel.model_validate(values)


def make_post(key: str = "rekognition:500:bsky", text: str = TEXT, **kw: Any) -> Post:
    return Post(key=key, text=text, letter="rekognition", milestone=500, count=503,
                url="https://letter.example.org/rek", **kw)


@pytest.fixture
def session_file(tmp_path: Path) -> Path:
    return tmp_path / "state" / "bsky.session"


@pytest.fixture
def poster(bluesky_pds: FakePds, session_file: Path) -> Iterator[BlueskyPoster]:
    channel = BlueskyPoster(settings(bluesky_pds.url), session_file=session_file)
    yield channel
    channel.close()


def test_record_key_is_a_stable_valid_tid() -> None:
    tid = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")
    keys = {record_key(f"letter:{n}:bsky") for n in range(500)}
    assert len(keys) == 500
    assert all(tid.match(k) for k in keys)
    assert record_key("a:1:b") == record_key("a:1:b")


def test_send_creates_the_record_with_facets_and_fixed_rkey(
        bluesky_pds: FakePds, poster: BlueskyPoster) -> None:
    posted = poster.send(make_post())

    rkey = record_key("rekognition:500:bsky")
    assert list(bluesky_pds.records) == [rkey]
    record = bluesky_pds.records[rkey]["value"]
    assert record["$type"] == "app.bsky.feed.post"
    assert record["text"] == TEXT
    features = [(f["features"][0]["$type"], f["index"]["byteStart"], f["index"]["byteEnd"])
                for f in record["facets"]]
    start = len(b"500 researchers have now signed ")
    assert features == [
        ("app.bsky.richtext.facet#link", start, start + len("https://letter.example.org/rek")),
        ("app.bsky.richtext.facet#tag", len(TEXT) - len("#NoRekognition"), len(TEXT)),
    ]
    assert record["facets"][0]["features"][0]["uri"] == "https://letter.example.org/rek"
    assert record["facets"][1]["features"][0]["tag"] == "NoRekognition"
    assert posted.remote_id == f"at://{pds.DID}/app.bsky.feed.post/{rkey}"
    assert posted.remote_url == f"https://bsky.app/profile/{pds.HANDLE}/post/{rkey}"


def test_facet_offsets_are_bytes_after_non_ascii_text() -> None:
    text, facets = rich_text("Zoë 🤖 signed: https://a.example.org #ai")
    link = facets[0]
    assert text.encode()[link.index.byte_start:link.index.byte_end] == b"https://a.example.org"


@pytest.mark.parametrize("duplicate_status", [500, 400])
def test_second_attempt_is_refused_as_a_duplicate(
        bluesky_pds: FakePds, poster: BlueskyPoster, duplicate_status: int) -> None:
    bluesky_pds.duplicate_status = duplicate_status
    first = poster.send(make_post())

    with pytest.raises(DuplicatePost) as caught:
        poster.send(make_post(text="a different text, same key"))

    assert len(bluesky_pds.records) == 1
    assert (caught.value.remote_id, caught.value.remote_url) == (first.remote_id,
                                                                  first.remote_url)
    assert poster.find_existing(make_post()) == first
    assert poster.find_existing(make_post(key="another:key")) is None


def test_image_is_uploaded_and_embedded_with_alt(bluesky_pds: FakePds,
                                                 poster: BlueskyPoster) -> None:
    poster.send(make_post(image=b"\x89PNG chart", image_alt="Signatures per day"))

    [blob] = bluesky_pds.blobs.values()
    assert blob == b"\x89PNG chart"
    [record] = bluesky_pds.records.values()
    embed = record["value"]["embed"]
    assert embed["$type"] == "app.bsky.embed.images"
    assert embed["images"][0]["alt"] == "Signatures per day"
    assert embed["images"][0]["image"]["ref"]["$link"] in bluesky_pds.blobs


def test_session_is_saved_and_reused(bluesky_pds: FakePds, session_file: Path) -> None:
    first = BlueskyPoster(settings(bluesky_pds.url), session_file=session_file)
    first.send(make_post(key="k:1"))
    first.close()
    assert bluesky_pds.logins == 1
    assert stat.S_IMODE(session_file.stat().st_mode) == 0o600

    second = BlueskyPoster(settings(bluesky_pds.url), session_file=session_file)
    second.send(make_post(key="k:2"))
    second.close()
    assert bluesky_pds.logins == 1
    assert len(bluesky_pds.records) == 2


def test_revoked_session_leads_to_one_new_login(bluesky_pds: FakePds,
                                                session_file: Path) -> None:
    BlueskyPoster(settings(bluesky_pds.url), session_file=session_file).send(make_post("k:1"))
    bluesky_pds.revoke_sessions()

    BlueskyPoster(settings(bluesky_pds.url), session_file=session_file).send(make_post("k:2"))

    assert bluesky_pds.logins == 2
    assert len(bluesky_pds.records) == 2


def test_expiring_access_token_is_refreshed_and_saved(bluesky_pds: FakePds,
                                                      session_file: Path) -> None:
    bluesky_pds.access_ttl = 60  # inside the SDK's 15-minute refresh margin
    BlueskyPoster(settings(bluesky_pds.url), session_file=session_file).send(make_post("k:1"))
    saved = session_file.read_text()

    BlueskyPoster(settings(bluesky_pds.url), session_file=session_file).send(make_post("k:2"))

    assert bluesky_pds.logins == 1
    assert bluesky_pds.refreshes >= 2
    assert session_file.read_text() != saved


def test_rate_limit_gives_retry_after(bluesky_pds: FakePds, poster: BlueskyPoster) -> None:
    poster.find_existing(make_post())  # logs in
    bluesky_pds.fail_next(429, reset_in=120)

    with pytest.raises(RateLimited) as caught:
        poster.send(make_post())

    assert caught.value.retry_after is not None
    assert 110 <= caught.value.retry_after <= 120
    assert bluesky_pds.records == {}


def test_server_error_is_temporary(bluesky_pds: FakePds, poster: BlueskyPoster) -> None:
    poster.find_existing(make_post())
    bluesky_pds.fail_next(502)
    with pytest.raises(PostError) as caught:
        poster.send(make_post())
    assert caught.value.permanent is False
    assert not isinstance(caught.value, DuplicatePost)


def test_wrong_password_is_permanent_and_not_logged(
        bluesky_pds: FakePds, session_file: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    channel = BlueskyPoster(settings(bluesky_pds.url, app_password=SecretStr("wrong-pass-123")),
                            session_file=session_file)

    with pytest.raises(PostError) as caught:
        channel.send(make_post())

    assert caught.value.permanent is True
    assert bluesky_pds.records == {}
    assert not session_file.exists()
    for text in (str(caught.value), repr(channel), caplog.text):
        assert "wrong-pass-123" not in text
        assert pds.APP_PASSWORD not in text


def test_missing_password_names_the_variable(bluesky_pds: FakePds) -> None:
    channel = BlueskyPoster(settings(bluesky_pds.url, app_password=None))
    with pytest.raises(PostError, match="LETTERMON_BSKY_APP_PASSWORD") as caught:
        channel.send(make_post())
    assert caught.value.permanent is True
    assert bluesky_pds.logins == 0


def test_build_channel(bluesky_pds: FakePds, session_file: Path) -> None:
    channel = build_channel(settings(bluesky_pds.url), session_file=session_file)
    assert isinstance(channel, BlueskyPoster)
    assert (channel.kind, channel.limit) == ("bluesky", 300)
    assert channel.length("👩‍🔬 Zoë") == 5
