"""Bad and hostile pages, end to end through ``lettermon check``.

Whatever the site serves, a bad poll is recorded with its outcome and reason, the known
count and signatories stay as they were, the command says what happened in one line and
exits 1, and the next good poll carries on as if nothing had happened.
"""

from __future__ import annotations

import json
import re
import socketserver
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

import widget
from conftest import write_config
from letter_server import Fault, LetterSite, serve

NAME = "rekognition"
LOG_LINE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} (DEBUG|INFO|WARNING|ERROR) ")


def said(result: Result) -> list[str]:
    """What the command itself told the user on stdout and stderr (log records aside)."""
    return [line for line in result.output.splitlines() if line and not LOG_LINE.match(line)]


def as_json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@dataclass
class Watched:
    site: LetterSite
    config: Path
    run: Callable[..., Result]

    def check(self) -> Result:
        return self.run("check", "--config", str(self.config))

    def history(self) -> list[dict[str, Any]]:
        return as_json(self.run("history", NAME, "--config", str(self.config),
                                "--format", "json"))

    def signatories(self) -> list[dict[str, Any]]:
        return as_json(self.run("signatories", NAME, "--config", str(self.config),
                                "--format", "json"))


def _first_poll(w: Watched) -> Watched:
    first = w.check()
    assert first.exit_code == 0, first.output
    assert said(first) == [f"{NAME}: 479 signatures (first poll: 479 signatories recorded)"]
    return w


@pytest.fixture
def watched(site: LetterSite, config_for: Callable[..., Path],
            run_cli: Callable[..., Result]) -> Watched:
    """The letter after one good poll: 479 signatories known."""
    return _first_poll(Watched(site, config_for(site), run_cli))


@pytest.fixture(scope="module")
def _one_letter(tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[tuple[LetterSite, Path]]:
    with serve(LetterSite(widget.make_signatories(479, seed=1))) as site:
        tmp = tmp_path_factory.mktemp("bad-input")
        yield site, write_config(tmp / "lettermon.toml", site.url,
                                 database=tmp / "data" / "lettermon.sqlite3")


@pytest.fixture
def same_letter(_one_letter: tuple[LetterSite, Path],
                run_cli: Callable[..., Result]) -> Iterator[Watched]:
    """One letter that every bad input in turn is thrown at, after one good poll.

    Each bad input must leave it as it was, so the next one meets the same 479.
    """
    w = Watched(*_one_letter, run_cli)
    if not w.site.requests:
        _first_poll(w)  # here, not in the module fixture: the environment is clean now
    w.site.faults.clear()
    yield w
    w.site.faults.clear()


@pytest.fixture(scope="module")
def other_site() -> Iterator[LetterSite]:
    """Another web site on another port: no letter should ever lead lettermon there."""
    with serve(LetterSite(widget.make_signatories(3, seed=9))) as running:
        yield running


def _without_caption(site: LetterSite) -> bytes:
    page = widget.render_page(site.displayed())
    return re.sub(r"<caption.*?</caption>", "", page, flags=re.S).encode()


@dataclass(frozen=True)
class Bad:
    faults: Callable[[LetterSite, LetterSite], list[Fault]]
    outcome: str
    words: str  # a regex the one line must match
    requests: int = 1  # requests the site should see for the bad poll


BAD_INPUTS = {
    "list vanished": Bad(lambda s, o: [Fault(kind="layout")], "failed",
                         r"FAILED: layout changed"),
    "caption vanished": Bad(lambda s, o: [Fault(kind="html", body=_without_caption(s))],
                            "failed", r"FAILED: layout changed.*caption"),
    "garbage bytes": Bad(lambda s, o: [Fault(kind="garbage")], "failed",
                         r"FAILED: layout changed or page unreadable"),
    "truncated body": Bad(lambda s, o: [Fault(kind="truncate")], "failed",
                          r"FAILED: truncated"),
    "huge body": Bad(lambda s, o: [Fault(kind="huge", size=150_000)], "failed",
                     r"FAILED: .*150,006 bytes, over the 100,000-byte cap"),
    "challenge 503": Bad(lambda s, o: [Fault(kind="challenge", status=503)], "blocked",
                         r"BLOCKED: .*bot challenge .*HTTP 503"),
    "challenge 403": Bad(lambda s, o: [Fault(kind="challenge", status=403)], "blocked",
                         r"BLOCKED: .*bot challenge .*HTTP 403"),
    "redirect to another site": Bad(
        lambda s, o: [Fault(kind="redirect", headers={"Location": o.url})], "failed",
        r"FAILED: redirected to another site \(127\.0\.0\.1:\d+\)"),
    "500 until retries run out": Bad(
        lambda s, o: [Fault(kind="status", status=500)] * 2, "failed",
        r"FAILED: HTTP 500 .* after 2 attempts", requests=2),
    "caption says 0": Bad(
        lambda s, o: [Fault(kind="html", body=widget.render_page([]).encode())], "suspect",
        r"SUSPECT: the count fell from 479 to 0"),
    "sharp drop": Bad(
        lambda s, o: [Fault(kind="html",
                            body=widget.render_page(s.displayed()[:100]).encode())],
        "suspect", r"SUSPECT: the count fell sharply, from 479 to 100"),
}


@pytest.mark.parametrize("bad", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_input_is_recorded_and_changes_nothing(
        bad: Bad, same_letter: Watched, other_site: LetterSite,
        monkeypatch: pytest.MonkeyPatch) -> None:
    watched = same_letter
    monkeypatch.setenv("LETTERMON_HTTP__MAX_BYTES", "100000")  # a page of 100 is ~46 kB
    # lettermon hangs up on a body over the cap; the test server's complaint about the
    # broken pipe would otherwise land in the command's captured stderr
    monkeypatch.setattr(socketserver.BaseServer, "handle_error", lambda *_: None)
    before = watched.signatories()
    assert len(before) == 479
    seen = len(watched.site.requests)
    watched.site.fail(*bad.faults(watched.site, other_site))

    result = watched.check()

    assert result.exit_code == 1, result.output
    lines = said(result)
    assert len(lines) == 1, result.output
    assert lines[0].startswith(f"{NAME}: ")
    assert re.search(bad.words, lines[0]), lines[0]
    assert "Traceback" not in result.output
    assert len(watched.site.requests) - seen == bad.requests
    assert other_site.requests == []

    last = watched.history()[-1]
    assert last["ok"] is False
    assert last["outcome"] == bad.outcome
    assert last["error"]
    assert last["added"] == last["removed"] == 0
    if bad.outcome != "suspect":
        assert last["count"] is None  # never a 0 because nothing matched

    after = watched.signatories()
    assert after == before
    assert all(s["removed_at"] is None for s in after)

    again = watched.check()
    assert again.exit_code == 0, again.output
    assert said(again) == [f"{NAME}: 479 signatures (no change since last poll)"]
    final = watched.history()[-1]
    assert (final["ok"], final["count"], final["added"], final["removed"]) == (True, 479, 0, 0)
    assert watched.signatories() == before


def test_json_output_reports_the_failure_too(same_letter: Watched) -> None:
    watched = same_letter
    watched.site.fail(Fault(kind="challenge", status=503))
    result = watched.run("check", "--config", str(watched.config), "--format", "json")
    assert result.exit_code == 1
    [report] = json.loads(result.stdout)
    assert report["ok"] is False
    assert report["outcome"] == "blocked"
    assert report["count"] is None
    assert report["previous"] == 479
    assert "bot challenge" in report["error"]


def test_several_bad_polls_in_a_row_keep_the_known_state(watched: Watched) -> None:
    before = watched.signatories()
    watched.site.fail(Fault(kind="layout"))
    watched.site.fail(Fault(kind="challenge", status=503))
    watched.site.fail(Fault(kind="html", body=widget.render_page([]).encode()))
    outcomes = []
    for _ in range(3):
        result = watched.check()
        assert result.exit_code == 1
        outcomes.append(watched.history()[-1]["outcome"])
    assert outcomes == ["failed", "blocked", "suspect"]
    watched.site.sign(widget.make_signatories(4, seed=77))
    result = watched.check()
    assert result.exit_code == 0, result.output
    assert said(result)[0] == f"{NAME}: 483 signatures (+4 since last poll; 4 new)"
    assert len(watched.signatories()) == 483
    assert watched.signatories()[:479] == before


def test_a_page_past_the_end_adds_no_duplicates(watched: Watched) -> None:
    """The caption claims 100 more than the list holds: asking for page 6 shows page 5."""
    watched.site.render["count"] = 579
    result = watched.check()
    assert result.exit_code == 1, result.output
    [line] = said(result)
    assert line.startswith(f"{NAME}: PARTIAL: ")
    assert any("listpage=6" in p for p in watched.site.page_requests())
    last = watched.history()[-1]
    assert (last["ok"], last["outcome"], last["added"], last["removed"]) == (
        False, "partial", 0, 0)
    signatories = watched.signatories()
    assert len(signatories) == 479
    assert len({s["fingerprint"] for s in signatories}) == len(
        {tuple(sorted(s["fields"].items())) for s in signatories})

    del watched.site.render["count"]
    again = watched.check()
    assert again.exit_code == 0, again.output
    assert said(again) == [f"{NAME}: 479 signatures (no change since last poll)"]


@pytest.mark.parametrize("fault", [
    Fault(kind="layout"), Fault(kind="challenge", status=503), Fault(kind="garbage"),
], ids=["layout", "challenge", "garbage"])
def test_a_first_poll_that_fails_records_only_the_failed_poll(
        fault: Fault, site: LetterSite, config_for: Callable[..., Path],
        run_cli: Callable[..., Result]) -> None:
    w = Watched(site, config_for(site), run_cli)
    site.fail(fault)
    result = w.check()
    assert result.exit_code == 1
    assert len(said(result)) == 1
    [poll] = w.history()
    assert poll["ok"] is False
    assert poll["count"] is None
    assert poll["added"] == 0
    assert w.signatories() == []

    good = w.check()
    assert good.exit_code == 0, good.output
    assert said(good) == [f"{NAME}: 479 signatures (first poll: 479 signatories recorded)"]
    assert len(w.signatories()) == 479
