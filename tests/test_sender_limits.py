"""Every limit that says "wait": daily cap, X spend, quiet hours, rate limits, give-ups, holds."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from lettermon import clock as lettermon_clock

from fakes.bluesky_pds import FakePds
from fakes.webhook_receiver import WebhookReceiver
from fakes.x_api import FakeXApi
from letter_server import LetterSite, serve
from posting import (
    TestClock,
    bluesky,
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
    with serve(letter_site(480)) as running:
        yield running


def post(run_cli: Cli, config: Path) -> str:
    """``lettermon post``: send what is due now, without polling."""
    result = run_cli("post", "--config", str(config))
    assert result.exit_code == 0, result.output
    return result.output


def iso(moment: datetime) -> str:
    return lettermon_clock.iso(moment)


def by_milestone(run_cli: Cli, config: Path, channel: str | None = None
                 ) -> dict[int, dict[str, Any]]:
    return {r["milestone"]: r for r in outbox(run_cli, config)
            if channel is None or r["channel"] == channel}


def test_defaults_let_ten_posts_out_in_a_day(
        letter: LetterSite, config_for: Callable[..., Path], run_cli: Cli,
        clock: TestClock, webhook_receiver: WebhookReceiver) -> None:
    config = config_for(letter, letter_extra=milestones(every=100, announce="all"),
                        extra=webhook(webhook_receiver.url))
    check(run_cli, config)
    grow_to(letter, 1480)
    check(run_cli, config)

    assert [p["milestone"] for p in webhook_receiver.posts] == list(range(500, 1500, 100))


def test_daily_cap_holds_the_third_post_for_24_hours(
        letter: LetterSite, config_for: Callable[..., Path], run_cli: Cli,
        clock: TestClock, webhook_receiver: WebhookReceiver) -> None:
    config = config_for(letter, letter_extra=milestones(every=100, announce="all"),
                        extra=webhook(webhook_receiver.url, daily_cap=2))
    check(run_cli, config)
    grow_to(letter, 760)
    first_sent = clock.advance(minutes=1)
    output = check(run_cli, config).output

    assert "milestone 700 → hook: held (daily cap of 2 posts reached)" in output
    assert [p["milestone"] for p in webhook_receiver.posts] == [500, 600]
    held = by_milestone(run_cli, config)[700]
    assert (held["status"], held["error"]) == ("pending", "daily cap of 2 posts reached")
    assert held["next_attempt_at"] == iso(first_sent + timedelta(days=1))

    clock.advance(hours=23, minutes=58)
    post(run_cli, config)
    assert len(webhook_receiver.posts) == 2
    clock.advance(minutes=3)
    assert "milestone 700 → hook: sent" in post(run_cli, config)
    assert [p["milestone"] for p in webhook_receiver.posts] == [500, 600, 700]


def test_x_monthly_spend_limit_holds_the_post_that_would_exceed_it(
        letter: LetterSite, config_for: Callable[..., Path], run_cli: Cli,
        monkeypatch: pytest.MonkeyPatch, clock: TestClock, x_api: FakeXApi) -> None:
    config = config_for(letter, letter_extra=milestones(every=100, announce="all"),
                        extra="\n".join([
                            x(x_api.url, monkeypatch, monthly_spend_limit=0.30),
                            x(x_api.url, monkeypatch, name="plain", include_link=False,
                              monthly_spend_limit=0.10)]))
    check(run_cli, config)
    grow_to(letter, 730)
    output = check(run_cli, config).output

    assert ("milestone 600 → bird: held (monthly spend limit reached ($0.20 of $0.30))"
            in output)
    linked = by_milestone(run_cli, config, "bird")
    assert (linked[500]["status"], linked[500]["cost"]) == ("sent", 0.20)
    assert [linked[m]["status"] for m in (600, 700)] == ["pending", "pending"]
    assert letter.url in linked[500]["text"]
    plain = by_milestone(run_cli, config, "plain")  # without a link a post costs $0.015
    assert [(plain[m]["status"], plain[m]["cost"]) for m in (500, 600, 700)] == [
        ("sent", 0.015)] * 3
    assert len(x_api.tweets) == 4
    assert sum("http" in t for t in x_api.posts()) == 1


def test_quiet_hours_hold_posts_until_the_window_ends(
        letter: LetterSite, config_for: Callable[..., Path], run_cli: Cli,
        clock: TestClock, webhook_receiver: WebhookReceiver) -> None:
    clock.now = datetime(2026, 1, 15, 22, 0, tzinfo=UTC)
    quiet = {"start": "22:00", "end": "07:00", "timezone": "Europe/Berlin"}
    config = config_for(letter, letter_extra=milestones(every=100), extra="\n".join([
        webhook(webhook_receiver.url, quiet_hours=quiet), console()]))
    check(run_cli, config)
    grow_to(letter, 505)
    clock.advance(minutes=30)  # 23:30 in Berlin
    output = check(run_cli, config).output

    assert "milestone 500 → hook: held (quiet hours until 07:00 CET)" in output
    assert len(console_posts(output)) == 1  # no quiet hours unless configured
    assert webhook_receiver.requests == []
    held = by_milestone(run_cli, config, "hook")[500]
    assert held["next_attempt_at"] == "2026-01-16T06:00:00.000000Z"

    clock.now = datetime(2026, 1, 16, 5, 59, tzinfo=UTC)  # 06:59 in Berlin
    post(run_cli, config)
    assert webhook_receiver.requests == []
    clock.advance(minutes=2)
    assert "milestone 500 → hook: sent" in post(run_cli, config)
    assert len(webhook_receiver.posts) == 1


def test_rate_limit_waits_as_long_as_the_network_asks(
        letter: LetterSite, config_for: Callable[..., Path], run_cli: Cli,
        clock: TestClock, webhook_receiver: WebhookReceiver) -> None:
    config = config_for(letter, letter_extra=milestones(every=100),
                        extra=webhook(webhook_receiver.url))
    check(run_cli, config)
    grow_to(letter, 505)
    webhook_receiver.fail_next(429, headers={"Retry-After": "600"})
    check(run_cli, config)

    row = by_milestone(run_cli, config)[500]
    assert (row["status"], row["attempts"]) == ("failed", 1)
    assert "429" in row["error"]
    assert row["next_attempt_at"] == iso(clock.now + timedelta(seconds=600))

    clock.advance(minutes=9)
    post(run_cli, config)
    assert len(webhook_receiver.requests) == 1
    clock.advance(minutes=1)
    post(run_cli, config)
    assert len(webhook_receiver.posts) == 1
    assert by_milestone(run_cli, config)[500]["status"] == "sent"


def test_a_refusal_gives_up_at_once_and_retry_sends_it(
        letter: LetterSite, config_for: Callable[..., Path], run_cli: Cli,
        clock: TestClock, webhook_receiver: WebhookReceiver) -> None:
    config = config_for(letter, letter_extra=milestones(every=100),
                        extra=webhook(webhook_receiver.url))
    check(run_cli, config)
    grow_to(letter, 505)
    webhook_receiver.always = 401
    assert "milestone 500 → hook: given_up" in check(run_cli, config).output
    row = by_milestone(run_cli, config)[500]
    assert (row["status"], row["attempts"]) == ("given_up", 1)
    assert "401" in row["error"]

    clock.advance(days=2)
    post(run_cli, config)
    assert len(webhook_receiver.requests) == 1  # given up means no more tries

    webhook_receiver.always = None  # the receiver's token was fixed
    result = run_cli("outbox", "retry", str(row["id"]), "--config", str(config))
    assert result.exit_code == 0, result.output
    assert "is now pending" in result.output
    assert "milestone 500 → hook: sent" in post(run_cli, config)
    assert len(webhook_receiver.posts) == 1
    assert by_milestone(run_cli, config)[500]["status"] == "sent"


def test_too_many_attempts_give_up(
        letter: LetterSite, config_for: Callable[..., Path], run_cli: Cli,
        clock: TestClock, webhook_receiver: WebhookReceiver) -> None:
    config = config_for(letter, letter_extra=milestones(every=100),
                        extra=webhook(webhook_receiver.url))
    check(run_cli, config)
    grow_to(letter, 505)
    webhook_receiver.always = 503
    check(run_cli, config)
    for _ in range(10):
        clock.advance(hours=7)  # longer than the longest back-off
        post(run_cli, config)

    row = by_milestone(run_cli, config)[500]
    assert (row["status"], row["attempts"]) == ("given_up", 8)
    assert "503" in row["error"]
    assert len(webhook_receiver.requests) == 8


def test_cancel_stops_a_post_for_good(
        letter: LetterSite, config_for: Callable[..., Path], run_cli: Cli,
        clock: TestClock, webhook_receiver: WebhookReceiver) -> None:
    config = config_for(letter, letter_extra=milestones(every=100),
                        extra=webhook(webhook_receiver.url))
    check(run_cli, config)
    grow_to(letter, 505)
    webhook_receiver.fail_next(503)
    check(run_cli, config)
    row = by_milestone(run_cli, config)[500]
    assert row["status"] == "failed"

    result = run_cli("outbox", "cancel", str(row["id"]), "--config", str(config))
    assert result.exit_code == 0, result.output
    assert "is now cancelled" in result.output
    clock.advance(days=1)
    check(run_cli, config)
    grow_to(letter, 530)
    check(run_cli, config)

    assert len(webhook_receiver.requests) == 1
    assert by_milestone(run_cli, config)[500]["status"] == "cancelled"


def test_a_count_back_below_the_milestone_holds_the_post(
        letter: LetterSite, config_for: Callable[..., Path], run_cli: Cli,
        webhook_receiver: WebhookReceiver) -> None:
    config = config_for(letter, letter_extra=milestones(every=100),
                        extra=webhook(webhook_receiver.url))
    check(run_cli, config)
    grow_to(letter, 505)
    check(run_cli, config, "--no-post")
    grow_to(letter, 495)

    assert "milestone 500 → hook: held (the count (495) is below 500 again)" in check(
        run_cli, config).output
    assert webhook_receiver.requests == []
    assert by_milestone(run_cli, config)[500]["status"] == "pending"

    grow_to(letter, 501)
    check(run_cli, config)
    assert [p["milestone"] for p in webhook_receiver.posts] == [500]


def test_a_channel_without_credentials_is_a_dry_run(
        letter: LetterSite, config_for: Callable[..., Path], run_cli: Cli,
        mastodon_server: Any, bluesky_pds: FakePds, x_api: FakeXApi) -> None:
    config = config_for(letter, letter_extra=milestones(every=100), extra="\n".join([
        mastodon(mastodon_server.base_url, None), bluesky(bluesky_pds.url, None),
        x(x_api.url, None)]))
    check(run_cli, config)
    grow_to(letter, 505)
    output = check(run_cli, config).output

    assert ("milestone 500 → fedi: held (dry run: no credentials (set "
            "LETTERMON_FEDI_ACCESS_TOKEN))") in output
    assert "LETTERMON_SKY_APP_PASSWORD" in output
    assert "LETTERMON_BIRD_CONSUMER_KEY" in output
    assert output.count("would post: 500 researchers have now signed") == 3
    assert mastodon_texts(mastodon_server) == []
    assert bluesky_pds.received == []
    assert x_api.received == []
    assert {r["status"] for r in outbox(run_cli, config)} == {"pending"}
