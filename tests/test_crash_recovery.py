"""A run killed after the network accepted a post, before it heard back, never posts twice.

``lettermon check`` runs as a real process. The fake network, upon accepting the post,
SIGKILLs that process before it answers, so the outbox row stays 'sending'. The next run
must find the post (X and Mastodon: the account's latest posts; Bluesky: the fixed record
key) or repeat it safely (the webhook: the same Idempotency-Key), and record it as sent.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from fakes.accept_proxy import AcceptProxy
from fakes.accept_proxy import serve as serve_proxy
from fakes.bluesky_pds import FakePds
from fakes.webhook_receiver import WebhookReceiver
from fakes.x_api import FakeXApi
from letter_server import LetterSite, serve
from posting import (
    bluesky,
    bluesky_texts,
    check,
    grow_to,
    letter_site,
    mastodon,
    mastodon_texts,
    milestones,
    outbox,
    webhook,
    x,
)

pytest_plugins = ["fakes.fixtures"]

LETTERMON = Path(sys.executable).parent / "lettermon"


class Killer:
    """An ``on_accept`` hook that SIGKILLs the lettermon process it is given."""

    def __init__(self) -> None:
        self.pid: int | None = None
        self.known = threading.Event()
        self.kills = 0

    def __call__(self) -> None:
        self.known.wait(30)
        if self.pid is not None and self.kills == 0:
            self.kills += 1
            os.kill(self.pid, signal.SIGKILL)

    def run_check(self, config: Path) -> int:
        """``lettermon check`` as its own process; its exit status (negative: killed)."""
        process = subprocess.Popen(
            [str(LETTERMON), "check", "--config", str(config)], env=dict(os.environ),
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.pid = process.pid
        self.known.set()
        try:
            _, errors = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
        assert self.kills == 1, errors.decode()
        return process.returncode


@pytest.fixture
def letter() -> Iterator[LetterSite]:
    with serve(letter_site(480)) as running:
        yield running


@pytest.fixture
def mastodon_proxy(mastodon_server: Any) -> Iterator[AcceptProxy]:
    """mastodon-mock behind a proxy that can act once a status has been created."""
    with serve_proxy(AcceptProxy(mastodon_server.base_url, "/api/v1/statuses")) as proxy:
        yield proxy


def crash_after_accept(config: Path, run_cli: Callable[..., Result], letter: LetterSite,
                       fake: Any) -> dict[str, Any]:
    """First poll at 480 in-process, then a killed run at 505; the ledger row it left."""
    assert LETTERMON.is_file()
    check(run_cli, config)
    grow_to(letter, 505)
    killer = Killer()
    fake.on_accept = killer
    assert killer.run_check(config) == -signal.SIGKILL
    fake.on_accept = None
    [row] = outbox(run_cli, config)
    assert (row["milestone"], row["status"], row["attempts"]) == (500, "sending", 1)
    assert row["remote_id"] is None
    return row


def recover(config: Path, run_cli: Callable[..., Result]) -> dict[str, Any]:
    result = check(run_cli, config)
    assert "milestone 500 →" in result.output
    assert ": sent" in result.output
    check(run_cli, config)  # and a further run leaves it alone
    [row] = outbox(run_cli, config)
    assert (row["status"], row["attempts"], row["error"]) == ("sent", 2, None)
    return row


def test_mastodon_finds_the_status_it_made_before_the_crash(
        letter: LetterSite, config_for: Callable[..., Path], run_cli: Callable[..., Result],
        monkeypatch: pytest.MonkeyPatch, mastodon_server: Any,
        mastodon_proxy: AcceptProxy) -> None:
    config = config_for(letter, letter_extra=milestones(every=100),
                        extra=mastodon(mastodon_proxy.url, monkeypatch))
    crash_after_accept(config, run_cli, letter, mastodon_proxy)
    [text] = mastodon_texts(mastodon_server)
    assert text.startswith("500 researchers")

    row = recover(config, run_cli)

    assert mastodon_proxy.accepted == 1  # found among the account's statuses, not sent again
    assert mastodon_texts(mastodon_server) == [text]
    api = mastodon_server.client()
    [status] = api.account_statuses(api.me().id)
    assert row["remote_id"] == str(status.id)


def test_bluesky_finds_the_record_under_its_fixed_key(
        letter: LetterSite, config_for: Callable[..., Path], run_cli: Callable[..., Result],
        monkeypatch: pytest.MonkeyPatch, bluesky_pds: FakePds) -> None:
    config = config_for(letter, letter_extra=milestones(every=100),
                        extra=bluesky(bluesky_pds.url, monkeypatch))
    crash_after_accept(config, run_cli, letter, bluesky_pds)
    [(rkey, record)] = bluesky_pds.records.items()

    row = recover(config, run_cli)

    assert list(bluesky_pds.records) == [rkey]
    assert bluesky_texts(bluesky_pds)[0].startswith("500 researchers")
    assert row["remote_id"] == record["uri"]
    assert row["remote_url"].endswith(f"/post/{rkey}")


def test_x_finds_the_post_among_the_latest(
        letter: LetterSite, config_for: Callable[..., Path], run_cli: Callable[..., Result],
        monkeypatch: pytest.MonkeyPatch, x_api: FakeXApi) -> None:
    config = config_for(letter, letter_extra=milestones(every=100),
                        extra=x(x_api.url, monkeypatch))
    crash_after_accept(config, run_cli, letter, x_api)
    [tweet] = x_api.tweets

    row = recover(config, run_cli)

    assert x_api.tweets == [tweet]
    assert [r.path for r in x_api.received if r.method == "POST"] == ["/2/tweets"]
    assert row["remote_id"] == tweet["id"]
    assert row["remote_url"].endswith(f"/status/{tweet['id']}")


def test_webhook_repeats_with_the_same_idempotency_key(
        letter: LetterSite, config_for: Callable[..., Path], run_cli: Callable[..., Result],
        webhook_receiver: WebhookReceiver) -> None:
    config = config_for(letter, letter_extra=milestones(every=100),
                        extra=webhook(webhook_receiver.url))
    crash_after_accept(config, run_cli, letter, webhook_receiver)

    row = recover(config, run_cli)

    [first, second] = webhook_receiver.requests
    assert first[0] == second[0] == first[1]["idempotency_key"]
    assert first[1] == second[1]
    assert len(webhook_receiver.posts) == 1
    assert row["remote_id"] == "hook-1"
