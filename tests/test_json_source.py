"""`adapter = "json"`: a JSON API read with the JMESPath expressions of [letters.json]."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from conftest import write_config
from petition_site import HTML, JSON, PetitionSite, serve_petitions
from posting import TestClock, check, console, console_posts, milestones

Cli = Callable[..., Result]


class Api:
    """A campaign API: a title, a total, the signers (oldest first) and a state."""

    def __init__(self, signers: int) -> None:
        self.signers = [self.signer(i) for i in range(signers)]
        self.state = "active"

    @staticmethod
    def signer(i: int) -> dict[str, Any]:
        return {"first": f"Ada{i}", "last": f"Lovelace {i}", "org": {"name": f"Lab {i % 7}"},
                "country": ["GB", "DE", "FR"][i % 3]}

    def sign(self, n: int) -> None:
        start = len(self.signers)
        self.signers.extend(self.signer(start + i) for i in range(n))

    def document(self) -> bytes:
        by_country: dict[str, int] = {}
        for s in self.signers:
            by_country[s["country"]] = by_country.get(s["country"], 0) + 1
        return json.dumps({
            "campaign": {"headline": "Fund the library", "status": self.state,
                         "stats": {"total": f"{len(self.signers):,}"}},
            "recent": self.signers[::-1],
            "countries": [{"iso": k, "n": v} for k, v in sorted(by_country.items())],
        }).encode()


@pytest.fixture
def api() -> Api:
    return Api(95)


@pytest.fixture
def site(api: Api) -> Iterator[PetitionSite]:
    with serve_petitions() as running:
        running.serve_doc("/api/campaign", api.document, JSON)
        yield running


WITH_ROWS = """adapter = "json"
{rules}
[letters.json]
count = "campaign.stats.total"
title = "campaign.headline"
rows = "recent"
breakdown = {{ country = "countries[].{{name: iso, count: n}}" }}

[letters.json.fields]
first_name = "first"
last_name = "last"
organisation = "org.name"
"""

COUNT_ONLY = """adapter = "json"
{rules}
[letters.json]
count = "campaign.stats.total"
state = "campaign.status"
"""


def config(tmp_path: Path, site: PetitionSite, table: str, *, extra: str = "") -> Path:
    return write_config(tmp_path / "lettermon.toml", site.url("/api/campaign"),
                        database=tmp_path / "db.sqlite3", extra=extra,
                        letter_extra=table.format(rules=milestones(every=100)))


def cli_json(run_cli: Cli, path: Path, *args: str) -> Any:
    result = run_cli(*args, "--format", "json", "--config", str(path))
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_a_json_api_with_rows_grows_reaches_a_milestone_fails_and_recovers(
        tmp_path: Path, site: PetitionSite, api: Api, run_cli: Cli, clock: TestClock) -> None:
    path = config(tmp_path, site, WITH_ROWS, extra=console())
    first = check(run_cli, path)
    assert "rekognition: 95 signatures (first poll: 95 signatories recorded)" in first.output

    api.sign(7)
    clock.advance(minutes=5)
    grown = check(run_cli, path)
    assert "102 signatures (+7 since last poll; 7 new)" in grown.output
    assert "+ Ada101, Lovelace 101, Lab 3" in grown.output
    assert console_posts(grown.output) == [
        "100 researchers have now signed “Fund the library”. Add your name: "
        + site.url("/api/campaign")]

    site.fail(500, b'{"error": "database is down"}', JSON)
    site.fail(500, b'{"error": "database is down"}', JSON)
    clock.advance(minutes=5)
    assert "FAILED: HTTP 500" in check(run_cli, path, code=1).output

    api.sign(3)
    clock.advance(minutes=5)
    recovered = check(run_cli, path)
    assert "105 signatures (+3 since last poll; 3 new)" in recovered.output

    polls = cli_json(run_cli, path, "history", "rekognition")
    assert [(p["outcome"], p["count"], p["added"]) for p in polls] == [
        ("ok", 95, 95), ("ok", 102, 7), ("failed", None, 0), ("ok", 105, 3)]
    people = cli_json(run_cli, path, "signatories", "rekognition")
    assert len(people) == 105
    assert people[-1]["fields"] == {"first_name": "Ada104", "last_name": "Lovelace 104",
                                    "organisation": "Lab 6"}
    countries = cli_json(run_cli, path, "breakdown", "rekognition", "--by", "country")
    assert countries["total"] == 105
    assert countries["items"] == [{"name": "DE", "count": 35}, {"name": "FR", "count": 35},
                                  {"name": "GB", "count": 35}]  # ties in name order


def test_an_unchanged_json_api_costs_one_conditional_get(
        tmp_path: Path, site: PetitionSite, run_cli: Cli, clock: TestClock) -> None:
    path = config(tmp_path, site, COUNT_ONLY)
    assert "95 signatures (first poll)" in check(run_cli, path).output
    site.requests.clear()
    clock.advance(minutes=5)
    assert "no change since last poll" in check(run_cli, path).output
    assert site.requests == [("/api/campaign", 304)]


def test_a_response_that_is_not_json_is_a_failed_poll_saying_so(
        tmp_path: Path, site: PetitionSite, run_cli: Cli, clock: TestClock) -> None:
    path = config(tmp_path, site, COUNT_ONLY)
    site.fail(200, b"<html><body>Maintenance</body></html>", HTML)
    result = check(run_cli, path, code=1)
    assert ("FAILED: layout changed or page unreadable: the response is text/html, not "
            "application/json") in result.output
    site.fail(200, b'{"campaign": {"stats": ', JSON)
    clock.advance(minutes=5)
    result = check(run_cli, path, code=1)
    assert "the response is not JSON (Expecting value: line 1 column 24" in result.output
    clock.advance(minutes=5)
    assert "95 signatures (first poll)" in check(run_cli, path).output


def test_an_expression_that_finds_no_number_is_a_failed_poll(
        tmp_path: Path, site: PetitionSite, run_cli: Cli) -> None:
    path = config(tmp_path, site, COUNT_ONLY.replace("stats.total", "stats.totl"))
    result = check(run_cli, path, code=1)
    assert "count 'campaign.stats.totl' yielded null, not a number" in result.output


def test_a_bad_jmespath_expression_is_refused_at_load(
        tmp_path: Path, site: PetitionSite, run_cli: Cli) -> None:
    path = config(tmp_path, site, COUNT_ONLY.replace("campaign.stats.total", "campaign..x"))
    result = run_cli("check", "--config", str(path))
    assert result.exit_code == 2
    assert "letters.0.json.count: Value error, not a valid JMESPath expression" in result.output


def test_a_closed_state_from_the_api_is_the_last_poll(
        tmp_path: Path, site: PetitionSite, api: Api, run_cli: Cli, clock: TestClock) -> None:
    path = config(tmp_path, site, COUNT_ONLY.replace('"campaign.status"',
                                                     '"campaign.status == \'ended\' && '
                                                     '\'closed\' || \'open\'"'))
    check(run_cli, path)
    api.state = "ended"
    clock.advance(minutes=5)
    assert "95 signatures (no change since last poll); closed: polled no more" in check(
        run_cli, path).output
    site.requests.clear()
    clock.advance(minutes=5)
    assert "rekognition: closed, not polled" in check(run_cli, path).output
    assert site.requests == []


def test_jmespath_is_loaded_only_for_a_letter_that_uses_it(tmp_path: Path) -> None:
    import subprocess
    import sys

    def loaded(letter: str) -> str:
        config = tmp_path / "c.toml"
        config.write_text(f'[[letters]]\nname = "x"\nurl = "https://p.example/x"\n{letter}')
        code = ("import sys; from pathlib import Path; from lettermon.app import Wiring; "
                f"Wiring().load(Path({str(config)!r})); "
                "print(any(m.startswith('jmespath') for m in sys.modules))")
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              check=True).stdout.strip()

    assert loaded('adapter = "css"\n[letters.css]\ncount = ".n"\n') == "False"
    assert loaded("") == "False"  # a UK petition, or any page found by auto
    assert loaded('adapter = "json"\n[letters.json]\ncount = "a.b"\n') == "True"


def test_a_count_only_letter_given_rows_later_reads_its_list_at_once(
        tmp_path: Path, site: PetitionSite, run_cli: Cli, clock: TestClock) -> None:
    path = config(tmp_path, site, COUNT_ONLY)
    check(run_cli, path)
    config(tmp_path, site, WITH_ROWS)  # the organiser adds rows and fields
    clock.advance(minutes=5)
    site.requests.clear()
    result = check(run_cli, path)
    assert site.requests == [("/api/campaign", 200)]  # not a 304 from the old validators
    assert "95 signatures (no change since last poll; 95 new)" in result.output
    assert len(cli_json(run_cli, path, "signatories", "rekognition")) == 95
