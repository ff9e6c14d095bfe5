"""A growing letter announces each milestone once, on every channel, whatever fails on the way."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from fakes.bluesky_pds import FakePds
from fakes.webhook_receiver import WebhookReceiver
from fakes.x_api import FakeXApi
from letter_server import Fault, LetterSite, serve
from posting import (
    TestClock,
    bluesky,
    bluesky_texts,
    check,
    console,
    console_posts,
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

Cli = Callable[..., Result]


@pytest.fixture
def letter() -> Iterator[LetterSite]:
    """A letter with 480 signatures."""
    with serve(letter_site(480)) as running:
        yield running


def test_each_channel_gets_500_then_1200_once_through_failures(
        letter: LetterSite, config_for: Callable[..., Path], run_cli: Cli,
        monkeypatch: pytest.MonkeyPatch, webhook_receiver: WebhookReceiver,
        mastodon_server: Any, mastodon_fault: Callable[..., Any], bluesky_pds: FakePds,
        x_api: FakeXApi, clock: TestClock) -> None:
    config = config_for(letter, letter_extra=milestones(every=100), extra="\n".join([
        console(), webhook(webhook_receiver.url),
        mastodon(mastodon_server.base_url, monkeypatch),
        bluesky(bluesky_pds.url, monkeypatch), x(x_api.url, monkeypatch)]))
    printed: list[str] = []

    def run() -> Result:
        clock.advance(minutes=5)
        result = check(run_cli, config)
        printed.extend(console_posts(result.output))
        return result

    def posted() -> dict[str, int]:
        return {"console": len(printed), "webhook": len(webhook_receiver.posts),
                "mastodon": len(mastodon_texts(mastodon_server)),
                "bluesky": len(bluesky_pds.records), "x": len(x_api.tweets)}

    assert "480 signatures (first poll" in run().output
    assert posted() == dict.fromkeys(posted(), 0)  # 100 to 400 were already behind
    assert outbox(run_cli, config) == []

    mastodon_fault(path="/api/v1/statuses", status=503)
    x_api.fail_next(503)
    grow_to(letter, 505)
    output = run().output
    assert "milestone 500 → fedi: failed" in output
    assert "milestone 500 → bird: failed" in output
    assert posted() == {"console": 1, "webhook": 1, "mastodon": 0, "bluesky": 1, "x": 0}

    grow_to(letter, 498)  # seven signatures withdrawn: a removal, not a suspect poll
    output = run().output
    assert "498 signatures (-7 since last poll; 7 removed)" in output
    assert "held (the count (498) is below 500 again)" in output
    assert posted() == {"console": 1, "webhook": 1, "mastodon": 0, "bluesky": 1, "x": 0}

    grow_to(letter, 503)  # back above 500: the failed posts go out, nothing is announced anew
    run()
    assert posted() == dict.fromkeys(posted(), 1)

    x_api.fail_next(429, reset_in=600)
    webhook_receiver.fail_next(429, headers={"Retry-After": "120"})
    grow_to(letter, 1230)
    output = run().output
    assert "milestone 1,200 → bird: failed (x 'bird': rate limited)" in output
    assert posted() == {"console": 2, "webhook": 1, "mastodon": 2, "bluesky": 2, "x": 1}

    run()  # five minutes later: the webhook's two minutes are over, X's ten are not
    assert posted() == {"console": 2, "webhook": 2, "mastodon": 2, "bluesky": 2, "x": 1}
    run()
    run()
    assert posted() == dict.fromkeys(posted(), 2)

    texts = {"console": printed, "webhook": webhook_receiver.texts(),
             "mastodon": mastodon_texts(mastodon_server), "bluesky": bluesky_texts(bluesky_pds),
             "x": x_api.posts()}
    for network, (first, second) in texts.items():
        assert first.startswith("500 researchers have now signed"), network
        assert second.startswith("1,200 researchers have now signed"), network
        assert first.count(letter.url) == second.count(letter.url) == 1, network
    assert not any(f"{m:,} " in t for m in range(600, 1200, 100) for t in printed)

    rows = outbox(run_cli, config)
    assert [(r["channel"], r["milestone"]) for r in rows] == [
        (c, m) for m in (500, 1200) for c in ("screen", "hook", "fedi", "sky", "bird")]
    for row in rows:
        assert row["letter"] == "rekognition"
        assert row["status"] == "sent"
        assert row["error"] is None
        assert row["text"].startswith(f"{row['milestone']:,} researchers")
        assert row["remote_id"]
    by_channel = {(r["channel"], r["milestone"]): r for r in rows}
    assert by_channel["fedi", 500]["attempts"] == 2  # once refused with 503, then sent
    assert by_channel["bird", 1200]["attempts"] == 2
    assert by_channel["hook", 1200]["attempts"] == 2
    assert by_channel["sky", 500]["attempts"] == 1
    assert by_channel["hook", 500]["remote_id"] == "hook-1"
    assert by_channel["bird", 500]["remote_id"] == x_api.tweets[0]["id"]
    assert by_channel["bird", 500]["remote_url"].endswith("/status/" + x_api.tweets[0]["id"])
    assert by_channel["sky", 1200]["remote_url"].startswith("https://bsky.app/profile/")
    status_url = by_channel["fedi", 1200]["remote_url"]
    assert status_url.endswith("/@alice/" + by_channel["fedi", 1200]["remote_id"])


@pytest.fixture
def hooked(letter: LetterSite, config_for: Callable[..., Path],
           webhook_receiver: WebhookReceiver) -> Callable[..., Path]:
    """A config for the 480 letter posting to the webhook, with these milestone rules."""

    def make(**rules: Any) -> Path:
        return config_for(letter, letter_extra=milestones(**rules),
                          extra=webhook(webhook_receiver.url))
    return make


def test_launch_posts_once_on_the_first_poll(
        letter: LetterSite, hooked: Callable[..., Path], run_cli: Cli,
        webhook_receiver: WebhookReceiver) -> None:
    config = hooked(every=100, launch=True)

    check(run_cli, config)
    check(run_cli, config)
    assert len(webhook_receiver.posts) == 1
    [launch] = webhook_receiver.posts
    assert launch["milestone"] is None
    assert "open for signatures: 480 researchers have signed so far" in launch["text"]
    assert launch["text"].endswith(f"Add your name: {letter.url}")

    grow_to(letter, 512)
    check(run_cli, config)
    assert [p["milestone"] for p in webhook_receiver.posts] == [None, 500]
    assert [(r["kind"], r["milestone"]) for r in outbox(run_cli, config)] == [
        ("launch", 0), ("milestone", 500)]


def test_a_page_that_fails_to_parse_announces_nothing(
        letter: LetterSite, hooked: Callable[..., Path], run_cli: Cli,
        webhook_receiver: WebhookReceiver) -> None:
    config = hooked(every=100)
    check(run_cli, config)
    grow_to(letter, 530)
    letter.fail(Fault(kind="layout"))

    result = check(run_cli, config, code=1)
    assert "rekognition: FAILED: layout changed" in result.output
    assert webhook_receiver.requests == []
    assert outbox(run_cli, config) == []

    check(run_cli, config)  # the page is readable again: 500 is announced, once
    check(run_cli, config)
    assert [p["milestone"] for p in webhook_receiver.posts] == [500]


def test_announce_all_posts_every_milestone_crossed_in_order(
        letter: LetterSite, hooked: Callable[..., Path], run_cli: Cli,
        webhook_receiver: WebhookReceiver) -> None:
    config = hooked(every=100, announce="all")
    check(run_cli, config)
    grow_to(letter, 760)
    check(run_cli, config)

    assert [p["milestone"] for p in webhook_receiver.posts] == [500, 600, 700]
    assert [t.split(" ")[0] for t in webhook_receiver.texts()] == ["500", "600", "700"]
    assert {r["status"] for r in outbox(run_cli, config)} == {"sent"}


def test_announce_highest_skips_the_milestones_in_between(
        letter: LetterSite, hooked: Callable[..., Path], run_cli: Cli,
        webhook_receiver: WebhookReceiver) -> None:
    config = hooked(every=100, at=[650])
    check(run_cli, config)
    grow_to(letter, 760)
    check(run_cli, config)

    assert [p["milestone"] for p in webhook_receiver.posts] == [700]


def test_confirm_polls_waits_for_two_polls_that_agree(
        letter: LetterSite, hooked: Callable[..., Path], run_cli: Cli,
        webhook_receiver: WebhookReceiver) -> None:
    config = hooked(every=100, confirm_polls=2)
    check(run_cli, config)

    grow_to(letter, 505)
    check(run_cli, config)
    assert webhook_receiver.requests == []  # one poll at 505 is not enough
    grow_to(letter, 496)  # a blip: the next poll disagrees
    check(run_cli, config)
    grow_to(letter, 502)
    check(run_cli, config)
    assert webhook_receiver.requests == []

    check(run_cli, config)  # a second poll above 500 in a row
    assert [p["milestone"] for p in webhook_receiver.posts] == [500]
    check(run_cli, config)
    assert len(webhook_receiver.posts) == 1


def test_falling_below_and_crossing_again_never_reannounces(
        letter: LetterSite, hooked: Callable[..., Path], run_cli: Cli,
        webhook_receiver: WebhookReceiver) -> None:
    config = hooked(every=100)
    check(run_cli, config)
    for count in (505, 460, 520, 499, 540):
        grow_to(letter, count)
        check(run_cli, config)

    assert [p["milestone"] for p in webhook_receiver.posts] == [500]
    assert [r["milestone"] for r in outbox(run_cli, config)] == [500]
