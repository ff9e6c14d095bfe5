"""No client ever connects to a link-local or cloud-metadata address.

Names resolve through a stub resolver given to the guard, and ``socket.socket.connect`` is
wrapped for every test here: it records each address asked for and lets only 127.0.0.1
through, so not one packet can leave for the addresses these tests name, whatever the code
under test does. Where a test expects a refusal, it also shows that no connect was tried.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from lettermon.announce.channels.base import Post
from lettermon.announce.channels.bluesky import BlueskySettings as BlueskyChannel
from lettermon.announce.channels.mastodon import MastodonSettings as MastodonChannel
from lettermon.announce.channels.webhook import WebhookSettings as WebhookChannel
from lettermon.announce.channels.x import XSettings as XChannel
from lettermon.errors import FetchError, PostError
from lettermon.netguard import NetGuard
from lettermon.settings import HttpSettings
from lettermon.watch.fetch import Fetcher, make_client

from hostile_server import answer, serve_raw

METADATA = "refusing to connect to 169.254.169.254 (link-local/metadata address)"


class StubDNS:
    """A ``socket.getaddrinfo`` answering from a table; a name may answer differently each
    time it is asked (the last answer repeats). IP literals answer themselves."""

    def __init__(self, **names: list[str] | list[list[str]]) -> None:
        self.names = {name.replace("_", "."): answers for name, answers in names.items()}
        self.asked: list[str] = []

    def __call__(self, host: str, port: Any, family: int = 0, type: int = 0,
                 proto: int = 0, flags: int = 0) -> list[tuple[Any, ...]]:
        try:
            addresses = [socket.inet_ntop(f, socket.inet_pton(f, host))  # an IP literal
                         for f in (socket.AF_INET, socket.AF_INET6) if _is(f, host)][:1]
        except OSError:
            addresses = []
        if not addresses:
            self.asked.append(host)
            answers = self.names.get(host)
            if answers is None:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            if answers and isinstance(answers[0], list):
                index = min(self.asked.count(host), len(answers)) - 1
                addresses = list(answers[index])
            else:
                addresses = [str(a) for a in answers]
        port = int(port or 0)
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                 (a, port, 0, 0) if ":" in a else (a, port)) for a in addresses]


def _is(family: int, host: str) -> bool:
    try:
        socket.inet_pton(family, host)
    except OSError:
        return False
    return True


@pytest.fixture(autouse=True)
def connects(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[Any, ...]]]:
    """Every address a socket in this process is asked to connect to, in order."""
    seen: list[tuple[Any, ...]] = []
    real_connect = socket.socket.connect
    real_getaddrinfo = socket.getaddrinfo

    def connect(self: socket.socket, address: Any) -> None:
        seen.append(tuple(address))
        if address[0] != "127.0.0.1":
            raise OSError("the test lets no connection leave 127.0.0.1")
        real_connect(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in ("127.0.0.1", "localhost") and not _is(socket.AF_INET, str(host)) \
                and not _is(socket.AF_INET6, str(host)):
            raise socket.gaierror(socket.EAI_NONAME, "the test asks no real DNS")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield seen


def fetcher(guard: NetGuard, **changes: Any) -> Fetcher:
    http = HttpSettings(**{"retries": 0, "timeout": 5, **changes})
    return Fetcher(make_client(http, guard=guard), http)


def fetch_error(guard: NetGuard, url: str) -> FetchError:
    client = fetcher(guard)
    try:
        with pytest.raises(FetchError) as caught:
            client.get(url)
    finally:
        client.close()
    return caught.value


# -- pages ----------------------------------------------------------------------------------

@pytest.mark.parametrize("address", [
    "169.254.169.254", "169.254.0.1", "fe80::1", "fd00:ec2::254", "::ffff:169.254.169.254",
    "::ffff:a9fe:a9fe", "100.100.100.200",
])
@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_name_resolving_to_a_metadata_address_is_refused_without_connecting(
        address: str, scheme: str, connects: list[tuple[Any, ...]]) -> None:
    dns = StubDNS(metadata_example=[address])
    error = fetch_error(NetGuard(resolve=dns), f"{scheme}://metadata.example/latest/meta-data/")
    assert error.kind == "refused_address"
    assert str(error) == (f"refusing to connect to {address} (link-local/metadata address) "
                          "for metadata.example")
    assert dns.asked == ["metadata.example"]
    assert connects == []


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/",
                                 "http://[::ffff:169.254.169.254]/latest/"])
def test_a_literal_metadata_address_is_refused_without_connecting(
        url: str, connects: list[tuple[Any, ...]]) -> None:
    error = fetch_error(NetGuard(resolve=StubDNS()), url)
    assert error.kind == "refused_address"
    assert str(error).startswith("refusing to connect to ")
    assert "(link-local/metadata address)" in str(error)
    assert connects == []


def test_metadata_is_refused_even_among_allowed_addresses(
        connects: list[tuple[Any, ...]]) -> None:
    with serve_raw(answer()) as server:
        port = int(server.url.split(":")[2].split("/")[0])
        dns = StubDNS(mixed_example=["169.254.169.254", "127.0.0.1"])
        client = fetcher(NetGuard(resolve=dns))
        result = client.get(f"http://mixed.example:{port}/letter/")
        client.close()
    assert result.status == 200
    assert connects == [("127.0.0.1", port)]  # the metadata address was never tried


def test_dns_rebinding_is_refused_at_the_connection_that_would_use_it(
        connects: list[tuple[Any, ...]]) -> None:
    dns = StubDNS(rebind_example=[["127.0.0.1"], ["169.254.169.254"]])
    with serve_raw(answer()) as server:  # closes each connection: each request resolves
        port = int(server.url.split(":")[2].split("/")[0])
        client = fetcher(NetGuard(resolve=dns))
        url = f"http://rebind.example:{port}/letter/"
        first = client.get(url)
        with pytest.raises(FetchError) as caught:
            client.get(url)
        client.close()
    assert first.body == b"<html>letter</html>"
    assert caught.value.kind == "refused_address"
    assert str(caught.value) == f"{METADATA} for rebind.example"
    assert dns.asked == ["rebind.example", "rebind.example"]
    assert connects == [("127.0.0.1", port)]


def test_loopback_works_by_default_and_is_refused_without_allow_private(
        connects: list[tuple[Any, ...]]) -> None:
    with serve_raw(answer()) as server:
        allowed = Fetcher(make_client(HttpSettings()), HttpSettings())
        assert allowed.get(server.url).status == 200
        allowed.close()
        http = HttpSettings(allow_private=False)
        refused = Fetcher(make_client(http), http)
        with pytest.raises(FetchError) as caught:
            refused.get(server.url)
        refused.close()
    assert caught.value.kind == "refused_address"
    assert str(caught.value) == "refusing to connect to 127.0.0.1 (loopback address)"
    assert len(connects) == 1


@pytest.mark.parametrize(("address", "kind"), [
    ("127.0.0.1", "loopback"), ("127.8.9.10", "loopback"), ("::1", "loopback"),
    ("10.1.2.3", "private"), ("172.16.0.9", "private"), ("172.31.255.1", "private"),
    ("192.168.1.1", "private"), ("fc00::5", "private"), ("fd12:3456::1", "private"),
    ("100.64.0.1", "shared (CGNAT)"), ("100.127.255.254", "shared (CGNAT)"),
    ("0.0.0.0", "unspecified"), ("::", "unspecified"),
    ("224.0.0.251", "multicast"), ("ff02::1", "multicast"),
    ("::ffff:10.0.0.1", "private"), ("::ffff:127.0.0.1", "loopback"),
])
def test_private_addresses_are_refused_only_without_allow_private(
        address: str, kind: str, connects: list[tuple[Any, ...]]) -> None:
    dns = StubDNS(intranet_example=[address])
    assert NetGuard(resolve=dns).addresses("intranet.example", 80) == [address]
    error = fetch_error(NetGuard(allow_private=False, resolve=dns), "http://intranet.example/")
    assert str(error) == f"refusing to connect to {address} ({kind} address) for intranet.example"
    assert connects == []


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c",
                                     "172.32.0.1", "100.128.0.1"])
def test_public_addresses_are_allowed_either_way(address: str) -> None:
    dns = StubDNS(public_example=[address])
    for allow_private in (True, False):
        guard = NetGuard(allow_private=allow_private, resolve=dns)
        assert guard.addresses("public.example", 443) == [address]


# -- channels -------------------------------------------------------------------------------

def post() -> Post:
    return Post(key="rekognition:milestone:500", text="500 have signed", letter="rekognition",
                milestone=500, count=500, url="https://letters.example/")


def metadata_guard() -> NetGuard:
    return NetGuard(resolve=StubDNS(hooks_example=["169.254.169.254"],
                                    social_example=["::ffff:169.254.169.254"],
                                    api_example=["fd00:ec2::254"],
                                    pds_example=["169.254.170.2"]))


def channel_error(channel: Any) -> PostError:
    try:
        with pytest.raises(PostError) as caught:
            channel.send(post())
    finally:
        channel.close()
    return caught.value


def test_a_webhook_to_a_metadata_address_is_refused(connects: list[tuple[Any, ...]]) -> None:
    from lettermon.announce.channels.webhook import WebhookPoster

    settings = WebhookChannel(name="hook", kind="webhook",
                              url="http://hooks.example/s3cr3t-path")  # type: ignore[arg-type]
    error = channel_error(WebhookPoster(settings, guard=metadata_guard()))
    assert str(error) == f"webhook 'hook': {METADATA} for hooks.example"
    assert error.permanent
    assert "s3cr3t" not in str(error)
    assert connects == []


def test_mastodon_at_a_metadata_address_is_refused(connects: list[tuple[Any, ...]]) -> None:
    from lettermon.announce.channels.mastodon import MastodonPoster

    settings = MastodonChannel(name="toot", kind="mastodon",
                               api_base_url="http://social.example",  # type: ignore[arg-type]
                               access_token=SecretStr("token-abc"))
    error = channel_error(MastodonPoster(settings, guard=metadata_guard()))
    assert str(error) == ("mastodon 'toot': refusing to connect to ::ffff:169.254.169.254 "
                          "(link-local/metadata address) for social.example")
    assert error.permanent
    assert connects == []


def test_x_at_a_metadata_address_is_refused(connects: list[tuple[Any, ...]]) -> None:
    from lettermon.announce.channels.x import XPoster

    keys = {k: SecretStr("k-" + k) for k in XChannel.SECRETS}
    settings = XChannel(name="xx", kind="x", api_base_url="http://api.example",  # type: ignore[arg-type]
                        **keys)  # type: ignore[arg-type]
    error = channel_error(XPoster(settings, guard=metadata_guard()))
    assert str(error) == ("x 'xx': refusing to connect to fd00:ec2::254 "
                          "(link-local/metadata address) for api.example")
    assert error.permanent
    assert connects == []


def test_bluesky_at_a_metadata_address_is_refused(
        connects: list[tuple[Any, ...]], tmp_path: Path) -> None:
    from lettermon.announce.channels.bluesky import BlueskyPoster

    settings = BlueskyChannel(name="sky", kind="bluesky", handle="alice.test",
                              base_url="http://pds.example/xrpc",  # type: ignore[arg-type]
                              app_password=SecretStr("app-pass-1234"))
    error = channel_error(BlueskyPoster(settings, session_file=tmp_path / "s",
                                        guard=metadata_guard()))
    assert str(error) == ("bluesky 'sky': refusing to connect to 169.254.170.2 "
                          "(link-local/metadata address) for pds.example")
    assert error.permanent
    assert connects == []


def test_the_app_gives_channels_the_configured_policy(
        connects: list[tuple[Any, ...]], tmp_path: Path) -> None:
    from lettermon.app import open_app
    from lettermon.registry import builtin_registry

    received: list[bytes] = []

    def hook(conn: Any) -> None:
        received.append(conn.head)
        answer(200, b'{"id": "1"}', Content_Type="application/json")(conn)

    with serve_raw(hook) as server:
        for allow_private in (True, False):
            settings = builtin_registry().settings_model(
                database_url=f"sqlite:///{tmp_path / f'{allow_private}.sqlite3'}",
                http={"allow_private": allow_private},
                channels=[{"name": "hook", "kind": "webhook", "url": server.url}])
            with open_app(settings) as app:
                channel = app.sender.channel("hook")
                if allow_private:
                    assert channel.send(post()).remote_id == "1"
                else:
                    with pytest.raises(PostError, match=r"\(loopback address\)"):
                        channel.send(post())
    assert len(received) == 1
