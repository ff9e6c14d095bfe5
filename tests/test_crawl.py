"""Crawling a letter: as few pages as possible, never a row missed or doubled."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

import widget
from letter_server import Fault, LetterSite, serve

Cli = Callable[..., Result]


def check(run_cli: Cli, cfg: Path) -> Result:
    return run_cli("check", "--config", str(cfg))


def stored(run_cli: Cli, cfg: Path, *, present: bool = True) -> list[dict[str, object]]:
    args = ["signatories", "rekognition", "--config", str(cfg), "--format", "json"]
    result = run_cli(*args, *(["--present"] if present else []))
    assert result.exit_code == 0, result.output
    items: list[dict[str, object]] = json.loads(result.output)
    return items


def as_multiset(rows: list[dict[str, str]]) -> list[str]:
    return sorted(json.dumps(r, sort_keys=True) for r in rows)


def stored_multiset(run_cli: Cli, cfg: Path) -> list[str]:
    return as_multiset([item["fields"] for item in stored(run_cli, cfg)])  # type: ignore[misc]


def new_requests(site: LetterSite, before: int) -> int:
    return len(site.requests) - before


def test_first_poll_backfills_every_page(site: LetterSite, config_for: Callable[..., Path],
                                         run_cli: Cli) -> None:
    cfg = config_for(site)
    result = check(run_cli, cfg)
    assert result.exit_code == 0, result.output
    assert "479 signatures (first poll: 479 signatories recorded)" in result.output
    assert len(site.requests) == 5  # 479 rows at 100 a page
    assert stored_multiset(run_cli, cfg) == as_multiset(site.rows)


def test_unchanged_letter_costs_one_conditional_request(
        site: LetterSite, config_for: Callable[..., Path], run_cli: Cli) -> None:
    cfg = config_for(site)
    check(run_cli, cfg)
    before = len(site.requests)
    result = check(run_cli, cfg)
    assert result.exit_code == 0
    assert "479 signatures (no change since last poll)" in result.output
    assert site.requests[before:] == [(site.requests[0][0], 304)]


def test_unchanged_letter_without_validators_costs_one_request(
        site: LetterSite, config_for: Callable[..., Path], run_cli: Cli) -> None:
    site.validators = False
    cfg = config_for(site)
    check(run_cli, cfg)
    before = len(site.requests)
    assert "no change" in check(run_cli, cfg).output
    assert new_requests(site, before) == 1


@pytest.mark.parametrize(("added", "requests"), [(23, 1), (99, 1), (100, 2), (250, 3)])
def test_growth_reads_only_the_pages_that_hold_new_rows(
        site: LetterSite, config_for: Callable[..., Path], run_cli: Cli,
        added: int, requests: int) -> None:
    cfg = config_for(site)
    check(run_cli, cfg)
    newcomers = widget.make_signatories(added, seed=77)
    site.sign(newcomers)
    before = len(site.requests)
    result = check(run_cli, cfg)
    assert result.exit_code == 0, result.output
    assert f"{479 + added:,} signatures (+{added} since last poll; {added} new)" in result.output
    assert new_requests(site, before) == requests
    assert stored_multiset(run_cli, cfg) == as_multiset(site.rows)


def test_new_signatories_are_listed_and_queryable_since(
        site: LetterSite, config_for: Callable[..., Path], run_cli: Cli) -> None:
    cfg = config_for(site)
    check(run_cli, cfg)
    newcomer = {**widget.make_signatories(1, seed=5)[0], "last_name": "Newcomer-Kealey"}
    site.sign([newcomer])
    result = check(run_cli, cfg)
    assert "Newcomer-Kealey" in result.output
    recent = run_cli("signatories", "rekognition", "--config", str(cfg), "--since", "1h",
                     "--format", "json")
    assert len(json.loads(recent.output)) == 480  # all were first seen within the hour
    since_now = run_cli("signatories", "rekognition", "--config", str(cfg), "--since",
                        "2999-01-01", "--format", "json")
    assert json.loads(since_now.output) == []


def test_oldest_first_letter_is_detected_and_read_from_the_end(
        config_for: Callable[..., Path], run_cli: Cli) -> None:
    with serve(LetterSite(widget.make_signatories(479, seed=2), order="oldest_first")) as site:
        cfg = config_for(site)
        check(run_cli, cfg)
        for batch, seed in ((23, 3), (30, 4)):
            site.sign(widget.make_signatories(batch, seed=seed))
            before = len(site.requests)
            result = check(run_cli, cfg)
            assert result.exit_code == 0, result.output
            assert f"{batch} new" in result.output
            assert stored_multiset(run_cli, cfg) == as_multiset(site.rows)
        # once the order is known, page 1 plus the last page(s) suffice
        assert new_requests(site, before) <= 3
        assert not any("listpage=2&" in p for p, _ in site.requests[before:])


def test_signature_arriving_during_a_crawl_is_not_counted_twice(
        config_for: Callable[..., Path], run_cli: Cli) -> None:
    arrivals = widget.make_signatories(2, seed=11)

    def sign_while_crawling(site: LetterSite, page: int) -> None:
        if page == 3 and arrivals:
            site.sign([arrivals.pop()])  # every row shifts down one place

    with serve(LetterSite(widget.make_signatories(479, seed=1))) as site:
        site.on_page = sign_while_crawling
        cfg = config_for(site)
        assert check(run_cli, cfg).exit_code == 0
        first = stored(run_cli, cfg)
        assert len(first) == 479  # the shifted row was not stored twice
        assert as_multiset([i["fields"] for i in first]) == as_multiset(  # type: ignore[misc]
            site.rows[:479])
        site.on_page = None
        result = check(run_cli, cfg)  # the late arrival is found on the next poll
        assert "1 new" in result.output
        assert stored_multiset(run_cli, cfg) == as_multiset(site.rows)


def test_full_crawl_finds_removed_and_edited_entries(
        site: LetterSite, config_for: Callable[..., Path], run_cli: Cli) -> None:
    cfg = config_for(site, letter_extra='full_crawl_every = "1s"')
    check(run_cli, cfg)
    gone = site.remove(200)
    site.edit(10, title="Professor Emerita")
    import time

    time.sleep(1.1)
    result = check(run_cli, cfg)
    assert result.exit_code == 0, result.output
    assert "2 removed" in result.output and "1 new" in result.output
    everyone = stored(run_cli, cfg, present=False)
    removed = [i["fields"] for i in everyone if i["removed_at"]]
    assert gone in removed
    assert stored_multiset(run_cli, cfg) == as_multiset(site.rows)
    history = json.loads(run_cli("history", "rekognition", "--config", str(cfg),
                                 "--format", "json").output)
    assert history[-1]["removed"] == 2 and history[-1]["count"] == 478


def test_one_person_signing_twice_stays_two_signatories(
        config_for: Callable[..., Path], run_cli: Cli) -> None:
    rows = widget.make_signatories(150, seed=6)
    twin = dict(rows[40])
    with serve(LetterSite([*rows, twin])) as site:
        cfg = config_for(site)
        check(run_cli, cfg)
        assert len(stored(run_cli, cfg)) == 151
        site.sign([dict(twin)])  # and a third time, later
        site.validators = False
        check(run_cli, cfg)
        twins = [i for i in stored(run_cli, cfg) if i["fields"] == twin]
        assert len(twins) == 3


@pytest.mark.parametrize("markup", ["2019", "2020", "2022"])
def test_every_widget_markup_reads_the_same(markup: str, config_for: Callable[..., Path],
                                            run_cli: Cli) -> None:
    rows = widget.make_signatories(730, seed=8)
    with serve(LetterSite(rows, markup=markup)) as site:  # type: ignore[arg-type]
        cfg = config_for(site)
        result = check(run_cli, cfg)
        assert result.exit_code == 0, result.output
        assert "730 signatures" in result.output
        assert len(site.requests) == 8
        assert len(stored(run_cli, cfg)) == 730


def test_rows_short_of_the_caption_are_recorded_as_partial(
        site: LetterSite, config_for: Callable[..., Path], run_cli: Cli) -> None:
    cfg = config_for(site)
    site.render = {"count": 481}  # the caption claims two more than the list holds
    result = check(run_cli, cfg)
    assert result.exit_code == 1
    assert "PARTIAL" in result.output and "collected 479 rows" in result.output
    history = json.loads(run_cli("history", "rekognition", "--config", str(cfg),
                                 "--format", "json").output)
    assert history[-1]["outcome"] == "partial" and history[-1]["ok"] is False
    assert history[-1]["rows_seen"] == 479


def test_failure_on_a_later_page_keeps_what_was_known(
        site: LetterSite, config_for: Callable[..., Path], run_cli: Cli) -> None:
    cfg = config_for(site)
    check(run_cli, cfg)
    site.sign(widget.make_signatories(250, seed=12))
    site.validators = False
    calls = {"n": 0}

    def break_page_3(s: LetterSite, page: int) -> None:
        if page == 3 and not calls["n"]:
            calls["n"] += 1
            s.fail(Fault("status", 404))

    site.on_page = break_page_3
    result = check(run_cli, cfg)
    assert result.exit_code == 1 and "PARTIAL" in result.output
    assert len(stored(run_cli, cfg)) == 479  # nothing half-written
    site.on_page = None
    assert "250 new" in check(run_cli, cfg).output


@pytest.mark.slow
def test_hundred_thousand_signatories_backfill_and_grow(
        config_for: Callable[..., Path], run_cli: Cli) -> None:
    with serve(LetterSite(widget.make_signatories(100_000, seed=3))) as site:
        cfg = config_for(site, letter_extra="store_pages = false")
        result = check(run_cli, cfg)
        assert result.exit_code == 0, result.output
        assert "100,000 signatures" in result.output
        assert len(site.requests) == 1000
        site.sign(widget.make_signatories(23, seed=4))
        before = len(site.requests)
        assert "23 new" in check(run_cli, cfg).output
        assert new_requests(site, before) == 1
        assert len(stored(run_cli, cfg)) == 100_023


def test_a_sharp_drop_is_suspect_until_seen_four_times_in_a_row(
        site: LetterSite, config_for: Callable[..., Path], run_cli: Cli) -> None:
    cfg = config_for(site)
    check(run_cli, cfg)
    del site.rows[:150]  # the organisers purge spam: 479 -> 329, a fall of 31 %
    outputs = [check(run_cli, cfg) for _ in range(4)]
    assert [r.exit_code for r in outputs] == [1, 1, 1, 0]
    assert "SUSPECT: the count fell sharply, from 479 to 329" in outputs[0].output
    assert "329 signatures (-150 since last poll; 150 removed)" in outputs[3].output
    assert stored_multiset(run_cli, cfg) == as_multiset(site.rows)


def test_raw_pages_are_kept_once_per_distinct_content(
        site: LetterSite, config_for: Callable[..., Path], run_cli: Cli,
        tmp_path: Path) -> None:
    import sqlite3

    from lettermon.store import Store, open_database

    cfg = config_for(site)
    check(run_cli, cfg)  # backfill: 5 pages
    for _ in range(3):
        check(run_cli, cfg)  # unchanged: no page kept
    site.fail(Fault("layout"))
    assert check(run_cli, cfg).exit_code == 1  # the unreadable page is kept for diagnosis
    database = tmp_path / "data" / "lettermon.sqlite3"
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT COUNT(*) FROM page_blobs").fetchone() == (6,)
        polls = db.execute("SELECT p.id, COUNT(pp.page) FROM polls p LEFT JOIN poll_pages pp "
                           "ON pp.poll_id = p.id GROUP BY p.id ORDER BY p.id").fetchall()
    assert [n for _, n in polls] == [5, 0, 0, 0, 1]
    store = Store(open_database(f"sqlite:///{database}"))
    try:
        failed = store.pages.body(polls[-1][0], 1)
        first = store.pages.body(polls[0][0], 3)
    finally:
        store.db.close()
    assert failed is not None and b"pdb-signup" in failed and b"list-container" not in failed
    assert first == widget.render_page(site.displayed(), 3, path=widget.DEFAULT_PATH).encode()
