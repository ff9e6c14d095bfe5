"""Letters whose page shows a count and lists nobody: `adapter = "css"` without `rows`."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import Result

from conftest import write_config
from petition_site import PetitionSite, serve_petitions
from posting import TestClock, check, console, console_posts, milestones

Cli = Callable[..., Result]


class Counter:
    """A campaign page whose count sits inside other markup, written in a locale's style."""

    def __init__(self, count: int, style: str = "{:,}") -> None:
        self.count = count
        self.style = style
        self.closed = False

    def html(self) -> bytes:
        shown = self.style.format(self.count) if "{" in self.style else self.style
        banner = '<p class="closed-banner">This petition is closed</p>' if self.closed else ""
        return (
            "<!doctype html><html><head><title>Save the river</title></head><body>"
            "<header><nav>Home · About · 2026</nav></header>"
            "<main><h1>Save the river</h1>"
            '<div class="progress"><div class="bar" style="width: 40%"></div>'
            f'<p class="goal">Goal: 50,000</p>'
            f'<p class="tally"><span class="icon">✍</span> <strong>{shown}</strong> '
            "people have signed</p></div>"
            f"{banner}<form><button>Sign</button></form></main></body></html>").encode()


@pytest.fixture
def counter() -> Counter:
    return Counter(480)


@pytest.fixture
def site(counter: Counter) -> Iterator[PetitionSite]:
    with serve_petitions() as running:
        running.serve_doc("/petition", counter.html)
        yield running


COUNT_ONLY = ('adapter = "css"\n{milestones}\n[letters.css]\n'
              'count = ".tally strong"\nclosed = ".closed-banner"\n')


def config(tmp_path: Path, site: PetitionSite, *, extra: str = "",
           rules: str = milestones(every=100)) -> Path:
    return write_config(tmp_path / "lettermon.toml", site.url("/petition"),
                        database=tmp_path / "data" / "db.sqlite3", extra=extra,
                        letter_extra=COUNT_ONLY.format(milestones=rules))


def history(run_cli: Cli, path: Path) -> list[dict[str, object]]:
    result = run_cli("history", "rekognition", "--format", "json", "--config", str(path))
    assert result.exit_code == 0, result.output
    polls: list[dict[str, object]] = json.loads(result.output)
    return polls


def test_a_count_only_page_grows_reaches_a_milestone_fails_and_recovers(
        tmp_path: Path, site: PetitionSite, counter: Counter, run_cli: Cli,
        clock: TestClock) -> None:
    path = config(tmp_path, site, extra=console())
    first = check(run_cli, path)
    assert "rekognition: 480 signatures (first poll)" in first.output
    assert console_posts(first.output) == []

    counter.count = 523
    clock.advance(minutes=5)
    grown = check(run_cli, path)
    assert "523 signatures (+43 since last poll)" in grown.output
    assert console_posts(grown.output) == [
        "500 researchers have now signed “Save the river”. Add your name: "
        + site.url("/petition")]

    site.fail(503)
    site.fail(503)
    clock.advance(minutes=5)
    failed = check(run_cli, path, code=1)
    assert "FAILED" in failed.output and "HTTP 503" in failed.output

    counter.count = 611
    clock.advance(minutes=5)
    recovered = check(run_cli, path)
    assert console_posts(recovered.output) == [
        "600 researchers have now signed “Save the river”. Add your name: "
        + site.url("/petition")]

    polls = history(run_cli, path)
    assert [(p["outcome"], p["count"]) for p in polls] == [
        ("ok", 480), ("ok", 523), ("failed", None), ("ok", 611)]
    assert all(p["crawl"] is None and p["added"] == 0 for p in polls)


def test_an_unchanged_count_only_page_costs_one_conditional_get(
        tmp_path: Path, site: PetitionSite, run_cli: Cli, clock: TestClock) -> None:
    path = config(tmp_path, site)
    check(run_cli, path)
    site.requests.clear()
    clock.advance(minutes=5)
    result = check(run_cli, path)
    assert "480 signatures (no change since last poll)" in result.output
    assert site.requests == [("/petition", 304)]
    clock.advance(days=2)  # long after a widget letter's daily full crawl would be due
    site.requests.clear()
    check(run_cli, path)
    assert site.requests == [("/petition", 304)]


def test_a_count_that_vanishes_or_falls_sharply_is_suspect(
        tmp_path: Path, site: PetitionSite, counter: Counter, run_cli: Cli,
        clock: TestClock) -> None:
    path = config(tmp_path, site, extra=console())
    check(run_cli, path)
    counter.count = 0
    clock.advance(minutes=5)
    result = check(run_cli, path, code=1)
    assert "SUSPECT: the count fell from 480 to 0" in result.output
    counter.count = 120
    clock.advance(minutes=5)
    result = check(run_cli, path, code=1)
    assert "SUSPECT: the count fell sharply, from 480 to 120" in result.output
    assert [p["outcome"] for p in history(run_cli, path)] == ["ok", "suspect", "suspect"]


@pytest.mark.parametrize(("style", "count"), [
    ("{:,}", 12345),
    ("12.345", 12345),
    ("12\u202f345", 12345),
    ("12\u00a0345", 12345),
    ("12’345", 12345),
    ("1,23,456", 123456),
])
def test_counts_in_several_locales_number_formats(
        tmp_path: Path, site: PetitionSite, counter: Counter, run_cli: Cli,
        style: str, count: int) -> None:
    counter.count, counter.style = count, style
    result = check(run_cli, config(tmp_path, site))
    assert f"rekognition: {count:,} signatures (first poll)" in result.output


@pytest.mark.parametrize("shown", ["1.2k", "1,2 Tsd.", "12K", "3M"])
def test_an_abbreviated_count_is_a_failed_poll_never_a_wrong_number(
        tmp_path: Path, site: PetitionSite, counter: Counter, run_cli: Cli,
        shown: str) -> None:
    counter.style = shown
    result = check(run_cli, config(tmp_path, site), code=1)
    assert f"the count is shown abbreviated ({shown!r}" in result.output
    assert history(run_cli, tmp_path / "lettermon.toml")[0]["count"] is None


def test_signatories_of_a_count_only_letter_says_there_are_none(
        tmp_path: Path, site: PetitionSite, run_cli: Cli) -> None:
    path = config(tmp_path, site)
    check(run_cli, path)
    result = run_cli("signatories", "rekognition", "--config", str(path))
    assert result.exit_code == 2
    assert "rekognition lists no signatories: its page gives a count only" in result.output


def test_names_in_posts_are_refused_at_load_for_a_count_only_letter(
        tmp_path: Path, site: PetitionSite, run_cli: Cli) -> None:
    path = config(tmp_path, site, extra=console(names=True))
    result = run_cli("check", "--config", str(path))
    assert result.exit_code == 2
    assert "channels.0.names: letter 'rekognition' lists no signatories" in result.output


def test_alerts_health_and_the_chart_work_from_the_count_alone(
        tmp_path: Path, site: PetitionSite, counter: Counter, run_cli: Cli,
        clock: TestClock) -> None:
    path = config(tmp_path, site, extra=console("ops", operator=True))
    check(run_cli, path)
    for _ in range(3):
        site.fail(404)
        clock.advance(minutes=5)
        failing = check(run_cli, path, code=1)
    assert console_posts(failing.output) == [
        "lettermon: rekognition has failed 3 polls in a row (HTTP error ×3). Last error: HTTP 404 "
        f"from {site.url('/petition')}"]
    health = run_cli("health", "--config", str(path))
    assert health.exit_code == 1 and "rekognition: 3 polls in a row failed" in health.output
    counter.count = 700
    clock.advance(minutes=5)
    recovered = check(run_cli, path)
    assert console_posts(recovered.output) == [
        "lettermon: rekognition works again after 3 failed polls: 700 signatures."]
    assert run_cli("health", "--config", str(path)).exit_code == 0
    png = tmp_path / "chart.png"
    drawn = run_cli("chart", "rekognition", "-o", str(png), "--alt", "--config", str(path))
    assert drawn.exit_code == 0, drawn.output
    assert png.read_bytes().startswith(b"\x89PNG") and "480" in drawn.output


def test_a_page_that_says_it_is_closed_is_polled_no_more(
        tmp_path: Path, site: PetitionSite, counter: Counter, run_cli: Cli,
        clock: TestClock) -> None:
    path = config(tmp_path, site, extra=console(),
                  rules=milestones(every=100, final=True))
    check(run_cli, path)
    counter.closed, counter.count = True, 488
    clock.advance(minutes=5)
    closing = check(run_cli, path)
    assert "488 signatures (+8 since last poll); closed: polled no more" in closing.output
    assert console_posts(closing.output) == [
        "“Save the river” has closed: 488 researchers signed. Thank you to everyone who "
        f"did: {site.url('/petition')}"]
    site.requests.clear()
    clock.advance(days=1)
    assert "rekognition: closed, not polled" in check(run_cli, path).output
    assert site.requests == []
    assert run_cli("health", "--config", str(path)).exit_code == 0
