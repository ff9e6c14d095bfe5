"""What lettermon says reads right: no "count None", no "1 polls", no dangling colon, and
alerts name the kind of every failure that led to them."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from lettermon.models import FailureKind, Outcome
from lettermon.registry import builtin_registry
from lettermon.run.worker import log_poll
from lettermon.watch.poll import PollReport

from letter_server import Fault, LetterSite
from posting import console, console_posts

Cli = Callable[..., Result]
NAME = "rekognition"


@pytest.mark.parametrize(("report", "line"), [
    (PollReport(NAME, 7, Outcome.FAILED, None, 479, pages=1, bytes=512, duration=0.25,
                error="HTTP 503 from https://letters.example/", kind=FailureKind.HTTP),
     f"polled {NAME}: failed, no count, 1 page, 512 bytes, 0.25s: "
     "HTTP 503 from https://letters.example/"),
    (PollReport(NAME, 8, Outcome.OK, 480, 479, added=1, pages=2, bytes=2048, duration=1.5),
     f"polled {NAME}: ok, count 480 (+1), 2 pages, 2048 bytes, 1.50s"),
    (PollReport(NAME, 1, Outcome.OK, 479, None, added=479, pages=5, bytes=9000, duration=3),
     f"polled {NAME}: ok, count 479 (first poll), 5 pages, 9000 bytes, 3.00s"),
])
def test_the_worker_logs_each_poll_in_words(
        report: PollReport, line: str, caplog: pytest.LogCaptureFixture) -> None:
    letter = builtin_registry().letter_settings(name=NAME, url="https://letters.example/")
    with caplog.at_level(logging.INFO, logger="lettermon.run.worker"):
        log_poll(letter, report)
    assert [r.getMessage() for r in caplog.records] == [line]


def alerts(result: Result) -> list[str]:
    return [post for post in console_posts(result.stdout) if post.startswith("lettermon:")]


def test_one_failure_is_one_poll_and_an_alert_names_each_kind(
        site: LetterSite, config_for: Callable[..., Path], run_cli: Cli) -> None:
    config = config_for(site, extra=console("ops", operator=True)
                        + "[alerts]\nafter_failures = 1\n")
    check = ("check", "--config", str(config))
    assert run_cli(*check).exit_code == 0
    site.fail(Fault("status", 404))
    first = run_cli(*check)
    assert alerts(first) == [f"lettermon: {NAME}: a poll failed (HTTP error). Last error: "
                             f"HTTP 404 from {site.url}"]
    health = run_cli("health", "--config", str(config))
    assert f"{NAME}: 1 poll failed (HTTP error); last poll failed: HTTP 404 from {site.url}" \
        in health.stdout.splitlines()
    assert alerts(run_cli(*check)) == [f"lettermon: {NAME} works again after 1 failed poll: "
                                       "479 signatures."]


def test_an_alert_after_several_failures_names_the_kind_of_each(
        site: LetterSite, config_for: Callable[..., Path], run_cli: Cli) -> None:
    config = config_for(site, extra=console("ops", operator=True))
    check = ("check", "--config", str(config))
    assert run_cli(*check).exit_code == 0
    site.fail(Fault("status", 404), Fault("layout"), Fault("challenge", 503))
    said = [alerts(run_cli(*check)) for _ in range(3)]
    assert said[:2] == [[], []]
    assert said[2] == [f"lettermon: {NAME} has failed 3 polls in a row (blocked, layout "
                       "changed, HTTP error). Last error: blocked by a bot challenge page "
                       f"(HTTP 503) at {site.url}"]
    health = run_cli("health", "--config", str(config))
    assert health.stdout.startswith(
        f"{NAME}: 3 polls in a row failed (blocked, layout changed, HTTP error)")
    assert alerts(run_cli(*check)) == [f"lettermon: {NAME} works again after 3 failed polls: "
                                       "479 signatures."]


def test_a_post_without_a_link_is_logged_without_a_dangling_colon(
        site: LetterSite, config_for: Callable[..., Path], monkeypatch: pytest.MonkeyPatch,
        run_cli: Cli) -> None:
    monkeypatch.setenv("LETTERMON_LOG_LEVEL", "INFO")
    config = config_for(site, letter_extra="milestones = { launch = true }",
                        extra=console("screen"))
    result = run_cli("check", "--config", str(config))
    assert result.exit_code == 0, result.output
    logged = [line.split(": ", 1)[1] for line in result.stderr.splitlines()
              if "lettermon.announce.sender" in line]
    assert logged == ["posted launch to screen"]
