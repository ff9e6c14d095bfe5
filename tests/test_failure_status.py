"""A failed poll keeps the HTTP status it failed with; each fetch failure names its kind."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from lettermon.errors import BlockedError, FetchError
from lettermon.settings import HttpSettings
from lettermon.watch.fetch import Fetcher, make_client

from letter_server import Fault, LetterSite, serve
from widget import make_signatories


def test_history_shows_the_status_of_a_503_and_of_a_403_challenge(
        site: LetterSite, config_for: Callable[..., Path],
        run_cli: Callable[..., Result]) -> None:
    cfg = str(config_for(site))
    site.fail(Fault("status", 503), Fault("status", 503))  # one try and one retry
    assert run_cli("check", "--no-post", "--config", cfg).exit_code == 1
    site.fail(Fault("challenge", 403))
    assert run_cli("check", "--no-post", "--config", cfg).exit_code == 1
    site.fail(Fault("status", 404))
    assert run_cli("check", "--no-post", "--config", cfg).exit_code == 1
    history = json.loads(run_cli("history", "rekognition", "--format", "json",
                                 "--config", cfg).output)
    assert [(p["outcome"], p["http_status"]) for p in history] == [
        ("failed", 503), ("blocked", 403), ("failed", 404)]


@pytest.mark.parametrize(("fault", "kind", "status", "error"), [
    (Fault("status", 503), "http", 503, FetchError),
    (Fault("status", 404), "http", 404, FetchError),
    (Fault("challenge", 403), "blocked", 403, BlockedError),
    (Fault("huge"), "too_large", 200, FetchError),
])
def test_a_fetch_error_carries_its_kind_and_status(
        fault: Fault, kind: str, status: int, error: type[FetchError]) -> None:
    http = HttpSettings(retries=0, timeout=5)
    with serve(LetterSite(make_signatories(3, seed=1))) as site:
        site.fail(fault)
        fetcher = Fetcher(make_client(http), http)
        with pytest.raises(error) as caught:
            fetcher.get(site.url)
        fetcher.close()
    assert caught.value.kind == kind
    assert caught.value.status == status


def test_a_refused_connection_has_no_status() -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    http = HttpSettings(retries=0, timeout=5)
    fetcher = Fetcher(make_client(http), http)
    with pytest.raises(FetchError) as caught:
        fetcher.get(f"http://127.0.0.1:{port}/letter/")
    fetcher.close()
    assert caught.value.kind == "network"
    assert caught.value.status is None
