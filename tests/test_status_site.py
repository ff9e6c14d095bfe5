"""A live status site: ``lettermon run`` keeps each letter's page and an index up to date."""

from __future__ import annotations

import json
import re
import signal
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from test_worker import LETTERMON, env, polls, wait_for

import widget
from letter_server import LetterSite, serve

pytest.importorskip("matplotlib")


@pytest.fixture
def letter() -> Iterator[LetterSite]:
    with serve(LetterSite(widget.make_signatories(480, seed=31))) as site:
        yield site


def count_on(page: Path) -> str | None:
    """The count the page shows, or None while it does not exist yet."""
    try:
        found = re.search(r'id="count">([^<]*)<', page.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    return found[1] if found else None


def config(tmp_path: Path, site: LetterSite, report_dir: Path) -> Path:
    path = tmp_path / "lettermon.toml"
    path.write_text(
        f'database_url = "sqlite:///{tmp_path / "data" / "lettermon.sqlite3"}"\n'
        f'[report]\ndir = "{report_dir}"\n'
        '[http]\nretries = 1\ntimeout = "5s"\n'
        f'[[letters]]\nname = "rekognition"\nurl = "{site.url}"\n'
        'title = "Open Letter to Amazon"\ninterval = "1s"\n', encoding="utf-8")
    return path


def test_run_rewrites_the_page_and_the_index_after_each_change(
        letter: LetterSite, tmp_path: Path) -> None:
    site = tmp_path / "site"
    page, index = site / "letters" / "rekognition.html", site / "index.html"
    worker = subprocess.Popen([LETTERMON, "run", "--config", str(config(tmp_path, letter, site))],
                              env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    try:
        wait_for(lambda: count_on(page) == "480", timeout=30)
        wait_for(index.exists)  # written right after the page
        written = page.stat().st_mtime_ns
        database = tmp_path / "data" / "lettermon.sqlite3"
        seen = len(polls(database))
        wait_for(lambda: len(polls(database)) >= seen + 2)
        assert page.stat().st_mtime_ns == written  # unchanged polls leave the page alone
        letter.sign(widget.make_signatories(25, seed=32))
        wait_for(lambda: count_on(page) == "505", timeout=30)
        wait_for(lambda: ">505<" in index.read_text(encoding="utf-8"))
    finally:
        worker.send_signal(signal.SIGTERM)
        _, err = worker.communicate(timeout=15)
    assert worker.returncode == 0, err
    listing = index.read_text(encoding="utf-8")
    assert 'href="letters/rekognition.html"' in listing and "Open Letter to Amazon" in listing
    assert "Content-Security-Policy" in listing
    assert sorted(p.name for p in site.rglob("*")) == ["index.html", "letters",
                                                       "rekognition.html"]  # no temp files


def test_a_page_that_cannot_be_written_never_fails_the_poll(
        letter: LetterSite, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the site's folder should be")
    worker = subprocess.Popen(
        [LETTERMON, "run", "--config", str(config(tmp_path, letter, blocker / "site"))],
        env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    database = tmp_path / "data" / "lettermon.sqlite3"
    try:
        wait_for(lambda: database.exists() and len(polls(database)) >= 1)
        letter.sign(widget.make_signatories(5, seed=33))
        wait_for(lambda: any(count == 485 for _, count in polls(database)), timeout=30)
    finally:
        worker.send_signal(signal.SIGTERM)
        _, err = worker.communicate(timeout=15)
    assert worker.returncode == 0, err
    assert all(outcome in ("ok", "unchanged") for outcome, _ in polls(database))
    events = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    failures = [e for e in events if e.get("event") == "report_error"]
    assert failures and failures[0]["letter"] == "rekognition"
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT last_count FROM letters").fetchone() == (485,)
