"""UK Parliament petitions: recognised from their JSON, counts by country and constituency,
the government's thresholds as milestones, and a closed petition's last poll."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import Result

from conftest import write_config
from petition_site import HTML, JSON, PetitionSite, serve_petitions
from posting import TestClock, check, console, console_posts, milestones
from uk_petitions import Petition

Cli = Callable[..., Result]
PATH = "/petitions/700123.json"


@pytest.fixture
def petition() -> Petition:
    return Petition()


@pytest.fixture
def site(petition: Petition) -> Iterator[PetitionSite]:
    with serve_petitions() as running:
        running.serve_doc(PATH, petition.body, JSON)
        yield running


def config(tmp_path: Path, url: str, *, extra: str = "", rules: str = "") -> Path:
    return write_config(tmp_path / "lettermon.toml", url, database=tmp_path / "db.sqlite3",
                        extra=extra, letter_extra=rules, name="meals")


def cli_json(run_cli: Cli, path: Path, *args: str) -> Any:
    result = run_cli(*args, "--format", "json", "--config", str(path))
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_an_open_petition_reaches_the_response_threshold_fails_and_recovers(
        tmp_path: Path, site: PetitionSite, petition: Petition, run_cli: Cli,
        clock: TestClock) -> None:
    path = config(tmp_path, site.url(PATH), extra=console(),
                  rules=milestones(preset="uk-parliament"))
    first = check(run_cli, path)
    assert "meals: 9,950 signatures (first poll)" in first.output

    petition.count, petition.abroad = 10_012, 52
    clock.advance(minutes=10)
    grown = check(run_cli, path)
    assert "10,012 signatures (+62 since last poll)" in grown.output
    assert console_posts(grown.output) == [
        "10,000 researchers have now signed “Fund free school meals for every child in "
        f"England”. Add your name: {site.url(PATH)}"]

    site.fail(503, b"<html><body>Sorry, the petitions site is busy</body></html>", HTML)
    site.fail(503, b"<html><body>Sorry, the petitions site is busy</body></html>", HTML)
    clock.advance(minutes=10)
    assert "FAILED: HTTP 503" in check(run_cli, path, code=1).output
    site.fail(200, b"<html><body>Maintenance</body></html>", HTML)
    clock.advance(minutes=10)
    failed = check(run_cli, path, code=1)
    assert "no adapter recognised the page" in failed.output

    petition.count = 10_500
    clock.advance(minutes=10)
    recovered = check(run_cli, path)
    assert "10,500 signatures (+488 since last poll)" in recovered.output
    assert console_posts(recovered.output) == []  # next milestone: 100,000

    polls = cli_json(run_cli, path, "history", "meals")
    assert [(p["outcome"], p["count"], p["state"]) for p in polls] == [
        ("ok", 9_950, "open"), ("ok", 10_012, "open"), ("failed", None, None),
        ("failed", None, None), ("ok", 10_500, "open")]
    countries = cli_json(run_cli, path, "breakdown", "meals", "--by", "country")
    assert countries["items"][0] == {"name": "United Kingdom", "count": 10_448}
    assert countries["total"] == 10_500
    seats = cli_json(run_cli, path, "breakdown", "meals", "--by", "constituency")
    assert len(seats["items"]) == 12 and seats["total"] == 10_448
    table = run_cli("breakdown", "meals", "--by", "region", "--config", str(path)).output
    assert "meals by region" in table and "London" in table


def test_breakdowns_are_stored_only_when_they_change(
        tmp_path: Path, site: PetitionSite, petition: Petition, run_cli: Cli,
        clock: TestClock) -> None:
    from lettermon.store import open_store

    path = config(tmp_path, site.url(PATH))
    site.validators = False  # every poll a 200: the store must see the sameness itself
    for count in (9_950, 9_950, 9_950, 9_960, 9_960):
        petition.count = count
        clock.advance(minutes=10)
        check(run_cli, path)
    petition.extra = {"signatures_by_country": petition.document()["data"]["attributes"][
        "signatures_by_country"][:1]}  # same count, countries listed differently
    clock.advance(minutes=10)
    check(run_cli, path)
    with open_store(f"sqlite:///{tmp_path / 'db.sqlite3'}", "2026-01-01T00:00:00Z") as store:
        letter = store.letters.get("meals")
        assert letter is not None
        assert store.breakdowns.changes(letter.id, "constituency") == 2
        assert store.breakdowns.changes(letter.id, "country") == 3
        assert store.breakdowns.dimensions(letter.id) == ["constituency", "country", "region"]


@pytest.mark.parametrize("response", [False, True])
def test_a_closed_petition_posts_once_and_is_polled_no_more(
        tmp_path: Path, site: PetitionSite, petition: Petition, run_cli: Cli,
        clock: TestClock, response: bool) -> None:
    petition.response = response
    path = config(tmp_path, site.url(PATH), extra=console(),
                  rules='interval = "10m"\n' + milestones(preset="uk-parliament", final=True))
    check(run_cli, path)
    petition.state, petition.count = "closed", 10_020
    clock.advance(minutes=10)
    closing = check(run_cli, path)
    assert "10,020 signatures (+70 since last poll); closed: polled no more" in closing.output
    assert console_posts(closing.output) == [
        "10,000 researchers have now signed “Fund free school meals for every child in "
        f"England”. Add your name: {site.url(PATH)}",
        "“Fund free school meals for every child in England” has closed: 10,020 researchers "
        f"signed. Thank you to everyone who did: {site.url(PATH)}"]

    site.requests.clear()
    clock.advance(days=3)
    later = check(run_cli, path)
    assert "meals: closed, not polled" in later.output and site.requests == []
    health = cli_json(run_cli, path, "health")
    assert health["ok"] is True and health["letters"][0]["closed"] is True
    named = check(run_cli, path, "meals")  # named: polled anyway, posts nothing new
    assert "closed: polled no more" in named.output and console_posts(named.output) == []
    assert [e["kind"] for e in cli_json(run_cli, path, "outbox")] == ["milestone", "final"]


def test_a_petition_with_no_signatures_yet(
        tmp_path: Path, site: PetitionSite, petition: Petition, run_cli: Cli,
        clock: TestClock) -> None:
    petition.count, petition.abroad, petition.seats = 0, 0, 0
    path = config(tmp_path, site.url(PATH), extra=console(),
                  rules=milestones(every=100, launch=True))
    first = check(run_cli, path)
    assert "meals: 0 signatures (first poll)" in first.output
    assert console_posts(first.output) == [
        "“Fund free school meals for every child in England” is open for signatures: 0 "
        f"researchers have signed so far. Add your name: {site.url(PATH)}"]
    seats = cli_json(run_cli, path, "breakdown", "meals", "--by", "constituency")
    assert (seats["total"], seats["items"]) == (0, [])
    result = run_cli("breakdown", "meals", "--by", "party", "--config", str(path))
    assert result.exit_code == 1
    assert ("meals has no breakdown by party (it has: constituency, country, region)"
            in result.output)
    petition.count, petition.seats = 130, 5
    clock.advance(minutes=10)
    assert console_posts(check(run_cli, path).output)[0].startswith("100 researchers")


def test_a_large_petition_with_650_constituencies(
        tmp_path: Path, site: PetitionSite, petition: Petition, run_cli: Cli,
        clock: TestClock) -> None:
    petition.count, petition.abroad, petition.seats = 6_103_056, 150_000, 650
    petition.debate = petition.response = True
    assert len(petition.body()) > 60_000
    path = config(tmp_path, site.url(PATH), rules=milestones(preset="uk-parliament"))
    started = time.monotonic()
    check(run_cli, path)
    assert time.monotonic() - started < 5
    seats = cli_json(run_cli, path, "breakdown", "meals", "--by", "constituency")
    assert len(seats["items"]) == 650 and seats["total"] == 6_103_056 - 150_000
    assert seats["items"][0]["name"] == "Constituency 001"
    top = run_cli("breakdown", "meals", "--by", "constituency", "--limit", "3", "--format",
                  "csv", "--config", str(path))
    assert top.output.splitlines()[0] == "name,count" and len(top.output.splitlines()) == 4
    petition.count += 1_000
    clock.advance(minutes=10)
    assert "6,104,056 signatures (+1,000 since last poll)" in check(run_cli, path).output


def test_a_petition_page_address_is_polled_at_its_json_twin(
        tmp_path: Path, petition: Petition, run_cli: Cli, clock: TestClock) -> None:
    from lettermon.app import Wiring

    asked: list[str] = []

    def petitions_site(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        if request.url.path == PATH:
            return httpx.Response(200, content=petition.body(),
                                  headers={"Content-Type": JSON})
        return httpx.Response(200, content=b"<html>the petition page</html>",
                              headers={"Content-Type": HTML})

    page = "https://petition.parliament.uk/petitions/700123"
    path = config(tmp_path, page, extra=console(),
                  rules=milestones(preset="uk-parliament"))
    wired = Wiring(clock=clock, transport=httpx.MockTransport(petitions_site))
    first = run_cli("check", "--config", str(path), obj=wired)
    assert first.exit_code == 0, first.output
    assert asked == [page + ".json"]
    assert (f"letters.0.url: {page} is a petition's page; lettermon polls its JSON, "
            f"{page}.json (posts still link to the page)") in first.output
    petition.count = 10_001
    clock.advance(minutes=10)
    grown = run_cli("check", "--config", str(path), obj=wired)
    assert console_posts(grown.output) == [
        "10,000 researchers have now signed “Fund free school meals for every child in "
        f"England”. Add your name: {page}"]


def test_detection_is_by_structure_and_cheap() -> None:
    from lettermon.registry import builtin_registry
    from lettermon.watch.sources import detect
    from lettermon.watch.sources.ukparliament import UkParliamentAdapter

    adapters = builtin_registry().adapters
    assert detect(Petition().body(), "http://x/p.json", adapters).kind == "ukparliament"
    pretty = json.dumps(Petition().document(), indent=2).encode()
    assert UkParliamentAdapter.detect(pretty, "http://x/p.json")
    assert not UkParliamentAdapter.detect(b'{"data": {"type": "survey"}}', "http://x/")
    assert not UkParliamentAdapter.detect(b"<html>" + b"{" * 10_000_000, "http://x/")
    huge = b"{" + b" " * 10_000_000 + b'"data": {"type": "petition"}}'
    started = time.perf_counter()
    for _ in range(100):
        assert not UkParliamentAdapter.detect(huge, "http://x/")
    assert time.perf_counter() - started < 0.5  # looks at the first bytes only


def test_run_stops_scheduling_a_petition_once_it_is_closed(
        tmp_path: Path, site: PetitionSite, petition: Petition) -> None:
    import os
    import signal
    import subprocess
    import sys

    other = Petition(id=700999, action="Another petition")
    site.serve_doc("/petitions/700999.json", other.body, JSON)
    path = config(tmp_path, site.url(PATH), rules='interval = "1s"')
    path.write_text(path.read_text() + f'\n[[letters]]\nname = "other"\nurl = '
                    f'"{site.url("/petitions/700999.json")}"\ninterval = "1s"\n')
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("LETTERMON_")},
           "LETTERMON_LOG_FORMAT": "json", "LETTERMON_SECRETS_DIR": "/nonexistent"}
    worker = subprocess.Popen([str(Path(sys.executable).parent / "lettermon"), "run",
                               "--config", str(path)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)

    def asked(p: str) -> int:
        return sum(1 for target, _ in list(site.requests) if target == p)

    def wait_for(condition: Callable[[], bool], timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, "timed out waiting"
            time.sleep(0.05)

    try:
        wait_for(lambda: asked(PATH) >= 2)
        petition.state = "closed"
        wait_for(lambda: asked(PATH) >= 3)  # the poll that finds it closed
        others = asked("/petitions/700999.json")
        time.sleep(3)
        assert asked(PATH) == 3  # polled no more
        assert asked("/petitions/700999.json") >= others + 2  # the other letter goes on
        worker.send_signal(signal.SIGTERM)
        _, err = worker.communicate(timeout=12)
    finally:
        worker.kill()
    assert worker.returncode == 0, err
    events = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert [e["letter"] for e in events if e.get("event") == "closed"] == ["meals"]


@pytest.mark.postgres
def test_a_petition_on_postgresql(pg_url: str, tmp_path: Path, site: PetitionSite,
                                  petition: Petition, run_cli: Cli, clock: TestClock) -> None:
    path = tmp_path / "pg.toml"
    path.write_text(f'database_url = "{pg_url}"\n\n[[letters]]\nname = "meals"\n'
                    f'url = "{site.url(PATH)}"\n'
                    f'{milestones(preset="uk-parliament", final=True)}\n\n{console()}')
    check(run_cli, path)
    petition.count, petition.state = 10_100, "closed"
    clock.advance(minutes=10)
    closing = check(run_cli, path)
    assert [post.split(" ")[0] for post in console_posts(closing.output)] == ["10,000", "“Fund"]
    seats = cli_json(run_cli, path, "breakdown", "meals", "--by", "constituency")
    assert seats["total"] == 10_100 - 40 and len(seats["items"]) == 12
    assert [p["state"] for p in cli_json(run_cli, path, "history", "meals")] == [
        "open", "closed"]
    assert "meals: closed, not polled" in check(run_cli, path).output
    assert cli_json(run_cli, path, "health")["ok"] is True


def test_which_addresses_are_polled_at_their_json_twin() -> None:
    from lettermon.registry import builtin_registry

    registry = builtin_registry()

    def polled(url: str, **values: Any) -> str:
        return registry.letter_settings(name="p", url=url, **values).poll_url

    page = "https://petition.parliament.uk/petitions/700123"
    assert polled(page) == page + ".json"
    assert polled(page + "/") == page + ".json"
    assert polled(page, adapter="ukparliament") == page + ".json"
    assert polled(page + ".json") == page + ".json"
    assert polled("https://petitions.senedd.wales/petitions/245001") == (
        "https://petitions.senedd.wales/petitions/245001.json")
    # read as a page on purpose, or not a petition's page: polled as written
    assert polled(page, adapter="css", css={"count": ".count"}) == page
    assert polled("https://petition.parliament.uk/petitions?state=open") == (
        "https://petition.parliament.uk/petitions?state=open")
    assert polled("https://example.org/petitions/700123") == (
        "https://example.org/petitions/700123")


def test_a_petition_closed_before_its_first_poll_posts_nothing(
        tmp_path: Path, site: PetitionSite, petition: Petition, run_cli: Cli) -> None:
    petition.state, petition.count = "closed", 12_345
    path = config(tmp_path, site.url(PATH), extra=console(),
                  rules=milestones(preset="uk-parliament", final=True))
    first = check(run_cli, path)
    assert "meals: 12,345 signatures (first poll); closed: polled no more" in first.output
    assert console_posts(first.output) == []  # old news: no milestone, no final post
    assert "meals: closed, not polled" in check(run_cli, path).output
