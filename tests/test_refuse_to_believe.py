"""What lettermon refuses to believe: zero, a sharp drop, a crawl mixing two states of the
list; and what it keeps of pages, so history is never rewritten and the disk never fills.

Each test runs the real commands against the local letter site, with a clock the test
moves (``clock`` fixture), and looks at what a user would: the history, the signatories,
what was posted.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

import widget
from letter_server import Fault, LetterSite, serve
from posting import TestClock, console, console_posts, grow_to, letter_site, milestones

Cli = Callable[..., Result]
NAME = "rekognition"


def check(run_cli: Cli, cfg: Path) -> Result:
    return run_cli("check", "--config", str(cfg))


def as_json(run_cli: Cli, cfg: Path, *args: str) -> Any:
    result = run_cli(*args, "--config", str(cfg), "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def present(run_cli: Cli, cfg: Path) -> list[dict[str, Any]]:
    return as_json(run_cli, cfg, "signatories", NAME, "--present")


def every(run_cli: Cli, cfg: Path) -> list[dict[str, Any]]:
    return as_json(run_cli, cfg, "signatories", NAME)


# -- zero ----------------------------------------------------------------------------------

def test_an_empty_list_for_hours_erases_nothing_and_posts_nothing(
        config_for: Callable[..., Path], run_cli: Cli, clock: TestClock) -> None:
    """A 20-minute database hiccup at a 5-minute interval, and then some."""
    with serve(letter_site(479)) as site:
        cfg = config_for(site, letter_extra=milestones(every=100),
                         extra=console(operator=True))
        assert check(run_cli, cfg).exit_code == 0
        clock.advance(hours=2)
        everyone = site.rows
        site.rows = []
        results = []
        for _ in range(6):
            clock.advance(minutes=5)
            results.append(check(run_cli, cfg))
        assert [r.exit_code for r in results] == [1] * 6
        assert "SUSPECT: the count fell from 479 to 0" in results[0].output
        assert "lettermon accept rekognition" in results[0].output
        assert len(present(run_cli, cfg)) == 479  # nobody marked removed
        alerts = [p for r in results for p in console_posts(r.output)]
        assert len(alerts) == 1 and "suspect count" in alerts[0]
        site.rows = everyone  # the site heals
        clock.advance(minutes=5)
        healed = check(run_cli, cfg)
    assert healed.exit_code == 0, healed.output
    assert "0 signatures" not in healed.output
    assert len(every(run_cli, cfg)) == 479  # the same 479 records, none doubled
    assert as_json(run_cli, cfg, "signatories", NAME, "--since", "1h") == []
    history = as_json(run_cli, cfg, "history", NAME)
    assert [p["outcome"] for p in history] == ["ok"] + ["suspect"] * 6 + ["unchanged"]
    assert {p["kind"] for p in history[1:7]} == {"suspect"}


def test_a_real_fall_to_zero_needs_an_operator(
        site: LetterSite, config_for: Callable[..., Path], run_cli: Cli) -> None:
    cfg = config_for(site)
    check(run_cli, cfg)
    nothing = run_cli("accept", NAME, "--config", str(cfg))
    assert nothing.exit_code == 1 and "nothing to accept" in nothing.output
    site.rows = []
    for _ in range(5):
        assert check(run_cli, cfg).exit_code == 1
    accepted = run_cli("accept", NAME, "--config", str(cfg))
    assert accepted.exit_code == 0, accepted.output
    assert "the next poll will believe" in accepted.output and "479" in accepted.output
    result = check(run_cli, cfg)
    assert result.exit_code == 0, result.output
    assert "0 signatures (-479 since last poll; 479 removed)" in result.output
    assert present(run_cli, cfg) == []


# -- sharp drops ---------------------------------------------------------------------------

def test_a_fall_of_more_than_half_is_held_until_accepted(
        site: LetterSite, config_for: Callable[..., Path], run_cli: Cli) -> None:
    cfg = config_for(site)
    check(run_cli, cfg)
    del site.rows[:300]  # 479 -> 179: more than half gone
    held = [check(run_cli, cfg) for _ in range(6)]
    assert [r.exit_code for r in held] == [1] * 6  # never believed by itself
    assert "by more than 50%" in held[-1].output
    assert len(present(run_cli, cfg)) == 479
    assert run_cli("accept", NAME, "--config", str(cfg)).exit_code == 0
    result = check(run_cli, cfg)
    assert "179 signatures (-300 since last poll; 300 removed)" in result.output
    assert len(present(run_cli, cfg)) == 179
    del site.rows[:100]  # the acceptance was for one fall, not for ever
    assert check(run_cli, cfg).exit_code == 1


def test_hold_drop_is_configurable(
        site: LetterSite, config_for: Callable[..., Path], run_cli: Cli) -> None:
    cfg = config_for(site, letter_extra="hold_drop = 0.7")
    check(run_cli, cfg)
    del site.rows[:300]  # a 63 % fall: within the 70 % this letter allows
    assert [check(run_cli, cfg).exit_code for _ in range(4)] == [1, 1, 1, 0]


def test_a_config_with_hold_drop_below_suspect_drop_is_refused(
        site: LetterSite, config_for: Callable[..., Path], run_cli: Cli) -> None:
    cfg = config_for(site, letter_extra="hold_drop = 0.1")
    result = check(run_cli, cfg)
    assert result.exit_code == 2
    assert "hold_drop must be at least suspect_drop" in result.output


# -- signatories who come back ---------------------------------------------------------------

def test_a_signatory_removed_and_back_keeps_their_first_seen(
        site: LetterSite, config_for: Callable[..., Path], run_cli: Cli,
        clock: TestClock) -> None:
    cfg = config_for(site, letter_extra='full_crawl_every = "1m"')
    check(run_cli, cfg)
    first_seen = {json.dumps(s["fields"], sort_keys=True): s["first_seen"]
                  for s in every(run_cli, cfg)}
    clock.advance(hours=1)
    gone = site.remove(100)
    assert "1 removed" in check(run_cli, cfg).output
    clock.advance(hours=1)
    site.sign([gone])  # back, at the top of the newest-first list
    back = check(run_cli, cfg)
    assert back.exit_code == 0, back.output
    assert "1 back on the list" in back.output and "new" not in back.output
    after = every(run_cli, cfg)
    assert len(after) == 479  # no second record
    assert all(s["removed_at"] is None for s in after)
    assert {json.dumps(s["fields"], sort_keys=True): s["first_seen"] for s in after} == \
        first_seen


# -- crawls that mix two states of the list --------------------------------------------------

def test_a_stale_page_cache_makes_a_partial_poll_that_changes_nothing(
        config_for: Callable[..., Path], run_cli: Cli) -> None:
    with serve(letter_site(400)) as site:
        cfg = config_for(site, letter_extra='full_crawl_every = "1s"')
        check(run_cli, cfg)
        site.cache_later_pages()  # pages 2+ keep showing 400 signatures from now on
        grow_to(site, 520)
        before = len(site.requests)
        result = check(run_cli, cfg)
        requests = len(site.requests) - before
        again = run_cli("check", "--no-post", "--format", "json", "--config", str(cfg))
    status = json.loads(again.output)[0]
    assert (status["outcome"], status["previous"]) == ("partial", 400)  # 520 not believed
    assert result.exit_code == 1
    assert "PARTIAL" in result.output and "page 2 says 400 where page 1 said 520" in result.output
    assert requests >= 2 * 2  # read, then read once more, before giving up
    history = as_json(run_cli, cfg, "history", NAME)
    assert (history[-1]["outcome"], history[-1]["kind"]) == ("partial", "partial")
    assert len(every(run_cli, cfg)) == 400  # none of the new rows, none removed


def test_rows_deleted_during_a_crawl_are_read_again_and_applied(
        config_for: Callable[..., Path], run_cli: Cli, clock: TestClock) -> None:
    with serve(letter_site(400)) as site:
        cfg = config_for(site)
        check(run_cli, cfg)
        clock.advance(days=2)  # the daily full crawl is due
        deleted: list[dict[str, str]] = []

        def delete_once(s: LetterSite, page: int) -> None:
            if page == 2 and not deleted:
                deleted.append(s.rows.pop(10))  # between the reads of pages 1 and 2

        site.on_page = delete_once
        result = check(run_cli, cfg)
    assert result.exit_code == 0, result.output
    assert "399 signatures (-1 since last poll; 1 removed)" in result.output
    assert len(present(run_cli, cfg)) == 399


# -- storage stays bounded -----------------------------------------------------------------

def _used_bytes(database: Path) -> int:
    with sqlite3.connect(database) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        free = db.execute("PRAGMA freelist_count").fetchone()[0]
        size = db.execute("PRAGMA page_size").fetchone()[0]
    return int((pages - free) * size)


def test_large_random_error_pages_do_not_fill_the_database(
        site: LetterSite, config_for: Callable[..., Path], run_cli: Cli,
        tmp_path: Path) -> None:
    cfg = config_for(site)
    check(run_cli, cfg)
    database = tmp_path / "data" / "lettermon.sqlite3"
    before = _used_bytes(database)
    for _ in range(10):  # ten different 1 MB error pages, incompressible
        site.fail(*[Fault(kind="status", status=500, body=os.urandom(1_000_000))] * 2)
        assert check(run_cli, cfg).exit_code == 1
    grown = _used_bytes(database) - before
    assert grown < 3.5 * 1_000_000  # the first pages of the last 3 failed polls, no more


def test_old_pages_are_let_go_after_keep_pages(
        site: LetterSite, config_for: Callable[..., Path], run_cli: Cli, clock: TestClock,
        tmp_path: Path) -> None:
    cfg = config_for(site, letter_extra='keep_pages = "7d"\nfull_crawl_every = "30d"')
    check(run_cli, cfg)  # 5 pages kept
    database = tmp_path / "data" / "lettermon.sqlite3"

    def kept() -> int:
        with sqlite3.connect(database) as db:
            return int(db.execute("SELECT COUNT(*) FROM poll_pages").fetchone()[0])

    assert kept() == 5
    clock.advance(days=8)
    site.sign(widget.make_signatories(3, seed=5))
    check(run_cli, cfg)  # reads page 1 only, and lets the backfill's pages go
    assert kept() == 1
    assert len(present(run_cli, cfg)) == 482  # the history itself is kept


@pytest.mark.parametrize("setting", ['failed_pages = 0', 'store_pages = false'])
def test_failed_pages_can_be_switched_off(
        site: LetterSite, config_for: Callable[..., Path], run_cli: Cli, tmp_path: Path,
        setting: str) -> None:
    cfg = config_for(site, letter_extra=setting)
    check(run_cli, cfg)
    site.fail(Fault(kind="layout"))
    check(run_cli, cfg)
    with sqlite3.connect(tmp_path / "data" / "lettermon.sqlite3") as db:
        failed_pages = db.execute(
            "SELECT COUNT(*) FROM poll_pages pp JOIN polls p ON p.id = pp.poll_id "
            "WHERE p.outcome = 'failed'").fetchone()[0]
    assert failed_pages == 0
