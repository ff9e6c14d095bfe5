"""``lettermon copy-db``: a whole history moves between SQLite and PostgreSQL, losing nothing.

The history is made by real ``lettermon check`` runs against the local letter site (growth,
a removal, a failed poll, milestones posted to a local webhook receiver, pages stored);
what a user reads of it (``history``, ``signatories``, ``outbox``) must be the same on
every copy, and a ``check`` must carry on from there.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from lettermon.errors import CopyRefused
from lettermon.models import Row
from lettermon.store import open_store
from lettermon.store.copy import copy_database
from lettermon.store.schema import MIGRATIONS, Migration, migrate

import widget
from conftest import write_config
from fakes.webhook_receiver import WebhookReceiver
from letter_server import Fault, LetterSite, serve
from posting import TestClock, milestones, webhook

pytest_plugins = ["fakes.fixtures"]

Cli = Callable[..., Result]
NAME = "rekognition"
NOW = "2026-01-01T00:00:00.000000Z"


@dataclass
class History:
    """A letter's history in an SQLite file, made by real checks; configs for any database."""

    site: LetterSite
    tmp: Path
    sqlite: Path
    extra: str
    letter_extra: str

    @property
    def url(self) -> str:
        return f"sqlite:///{self.sqlite}"

    def config(self, url: str) -> Path:
        """The same letters and channels, on the database at ``url``."""
        path = write_config(self.tmp / f"{abs(hash(url))}.toml", self.site.url,
                            database=self.sqlite, extra=self.extra,
                            letter_extra=self.letter_extra)
        path.write_text(path.read_text(encoding="utf-8").replace(self.url, url, 1),
                        encoding="utf-8")
        return path


def _ok(result: Result, code: int = 0) -> Result:
    assert result.exit_code == code, result.output
    return result


def seen(run_cli: Cli, config: Path) -> dict[str, Any]:
    """Everything a user reads of the history, as JSON."""
    def read(*args: str) -> Any:
        return json.loads(_ok(run_cli(*args, "--format", "json", "--config", str(config)))
                          .stdout)
    return {"history": read("history", NAME), "signatories": read("signatories", NAME),
            "outbox": read("outbox")}


def page_bodies(url: str) -> dict[tuple[int, int], bytes]:
    """Every stored page, decompressed, by (poll, page)."""
    with open_store(url, NOW, schema="read") as store:
        keys = store.db.all("SELECT poll_id, page FROM poll_pages ORDER BY poll_id, page")
        found = {}
        for poll_id, page in keys:
            body = store.pages.body(int(poll_id), int(page))
            assert body is not None
            found[int(poll_id), int(page)] = body
        return found


def row_counts(url: str) -> dict[str, int]:
    with open_store(url, NOW) as store:
        return {table: int(store.db.scalar(f"SELECT COUNT(*) FROM {table}"))
                for table in ("letters", "polls", "signatories", "page_blobs", "poll_pages",
                              "milestones", "outbox")}


@pytest.fixture
def history(tmp_path: Path, run_cli: Cli, clock: TestClock,
            webhook_receiver: WebhookReceiver) -> Iterator[History]:
    """479 signatories, +23 (milestone 500 posted), a failed poll, a removal, +100 with
    the webhook failing (milestone 600 waits in the outbox as failed)."""
    with serve(LetterSite(widget.make_signatories(479, seed=1))) as site:
        made = History(site, tmp_path, tmp_path / "data" / "lettermon.sqlite3",
                       webhook(webhook_receiver.url), milestones(every=100))
        config = made.config(made.url)

        def check(code: int = 0) -> Result:
            clock.advance(minutes=5)
            return _ok(run_cli("check", "--config", str(config)), code)

        check()
        site.sign(widget.make_signatories(23, seed=2))
        assert "milestone 500 → hook: sent" in check().output
        site.fail(Fault("status", status=500), Fault("status", status=500))
        assert "FAILED" in check(1).output
        assert not site.faults
        site.remove(10)
        assert "1 removed" in check().output
        webhook_receiver.always = 500
        site.sign(widget.make_signatories(100, seed=3))
        assert "milestone 600 → hook: failed" in check().output
        webhook_receiver.always = None
        yield made


# -- the whole history, SQLite → PostgreSQL → SQLite ----------------------------------------

@pytest.mark.postgres
def test_a_history_goes_to_postgres_and_back_unchanged(
        history: History, pg_url: str, run_cli: Cli, clock: TestClock,
        webhook_receiver: WebhookReceiver) -> None:
    original = seen(run_cli, history.config(history.url))
    assert [p["outcome"] for p in original["history"]] == [
        "ok", "ok", "failed", "ok", "ok"]
    assert [(e["milestone"], e["status"]) for e in original["outbox"]] == [
        (500, "sent"), (600, "failed")]
    assert sum(s["removed_at"] is not None for s in original["signatories"]) == 1
    pages = page_bodies(history.url)
    assert pages  # pages were stored, and are copied byte for byte below

    secret = pg_url.replace("postgres@", "postgres:s3cret-pw@", 1)  # never shown
    result = _ok(run_cli("copy-db", "--from", history.url, "--to", secret))
    assert "s3cret" not in result.output
    assert "postgres:***@" in result.stdout
    assert "signatories: 602 rows" in result.stdout
    assert "page_blobs:" in result.stdout and "schema_migrations:" in result.stdout
    assert "counts and fingerprints match" in result.stdout.splitlines()[-1]
    assert result.stderr == ""  # no progress bar when stderr is not a terminal

    back = f"sqlite:///{history.tmp / 'back' / 'lettermon.sqlite3'}"
    _ok(run_cli("copy-db", "--from", pg_url, "--to", back))

    assert seen(run_cli, history.config(pg_url)) == original
    assert seen(run_cli, history.config(back)) == original
    assert page_bodies(pg_url) == pages
    assert page_bodies(back) == pages
    assert row_counts(pg_url) == row_counts(history.url) == row_counts(back)

    # every copy carries on: new polls, signatories and posts get new ids, no collision
    history.site.sign(widget.make_signatories(5, seed=4))
    for url in (pg_url, back):
        clock.advance(minutes=5)
        config = history.config(url)
        output = _ok(run_cli("check", "--config", str(config))).output
        assert f"{NAME}: 606 signatures (+5 since last poll; 5 new)" in output
        assert "milestone 600 → hook: sent" in output  # the failed post was retried
        after = seen(run_cli, config)
        assert after["history"][:-1] == original["history"]
        assert after["history"][-1]["added"] == 5
        assert len(after["signatories"]) == len(original["signatories"]) + 5
        assert [e["id"] for e in after["outbox"]] == [e["id"] for e in original["outbox"]]
        assert after["outbox"][-1]["status"] == "sent"


def test_sqlite_to_sqlite_keeps_everything(history: History, run_cli: Cli,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    original = seen(run_cli, history.config(history.url))
    target = f"sqlite:///{history.tmp / 'copy.sqlite3'}"
    monkeypatch.chdir(history.tmp / "data")  # no config file here: the URLs are enough
    result = _ok(run_cli("copy-db", "--from", history.url, "--to", target))
    assert "outbox: 2 rows" in result.stdout
    assert f"from {history.url} to {target}; counts and fingerprints match" in result.stdout
    assert seen(run_cli, history.config(target)) == original
    assert page_bodies(target) == page_bodies(history.url)


# -- refusals -------------------------------------------------------------------------------

@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def other_history(request: pytest.FixtureRequest, tmp_path: Path, run_cli: Cli) -> str:
    """Another letter's history, in SQLite or PostgreSQL."""
    url = (request.getfixturevalue("pg_url") if request.param == "postgresql"
           else f"sqlite:///{tmp_path / 'other.sqlite3'}")
    with serve(LetterSite(widget.make_signatories(30, seed=9))) as site:
        config = write_config(tmp_path / "other.toml", site.url,
                              database=tmp_path / "unused.sqlite3", name="other")
        config.write_text(config.read_text().replace(
            f"sqlite:///{tmp_path / 'unused.sqlite3'}", url), encoding="utf-8")
        _ok(run_cli("check", "--config", str(config)))
    return url


def test_a_target_with_a_history_is_refused_and_left_alone(
        history: History, other_history: str, run_cli: Cli) -> None:
    before = row_counts(other_history)
    result = run_cli("copy-db", "--from", history.url, "--to", other_history)
    assert result.exit_code == 2, result.output
    assert "already holds a history (1 letter: other)" in result.stderr
    assert "never merges" in result.stderr
    assert row_counts(other_history) == before
    assert before["letters"] == 1 and before["signatories"] == 30


def test_the_same_database_twice_is_refused(history: History, run_cli: Cli,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(history.tmp)
    before = row_counts(history.url)
    for same in (history.url, "sqlite:///data/lettermon.sqlite3"):
        result = run_cli("copy-db", "--from", history.url, "--to", same)
        assert result.exit_code == 2, result.output
        assert "the same database" in result.stderr
    assert row_counts(history.url) == before


@pytest.mark.parametrize("first,second,same", [
    ("postgresql://alice@db.example.org/lettermon",
     "postgres://bob:pw@DB.example.org:5432/lettermon", True),
    ("postgresql://alice@db.example.org/lettermon",
     "postgresql://alice@db.example.org/lettermon_copy", False),
    ("postgresql://alice@db.example.org:5433/lettermon",
     "postgresql://alice@db.example.org/lettermon", False),
    ("sqlite:////srv/a.sqlite3", "sqlite:////srv/./a.sqlite3", True),
    ("sqlite:////srv/a.sqlite3", "postgresql://alice@db.example.org/a", False),
])
def test_which_urls_name_the_same_database(first: str, second: str, same: bool) -> None:
    from lettermon.store.db import same_database

    assert same_database(first, second) is same


@pytest.mark.parametrize("url,shown", [
    ("postgresql://lm:hunter2@db.example.org/lettermon",
     "postgresql://lm:***@db.example.org/lettermon"),
    ("postgresql://lm@db.example.org/lettermon?password=hunter2&sslmode=require",
     "postgresql://lm@db.example.org/lettermon?password=***&sslmode=require"),
    ("sqlite:////srv/lettermon.sqlite3", "sqlite:////srv/lettermon.sqlite3"),
])
def test_urls_are_shown_without_their_password(url: str, shown: str) -> None:
    from lettermon.store.db import redacted

    assert redacted(url) == shown


def test_a_missing_source_is_refused_and_creates_nothing(tmp_path: Path, run_cli: Cli) -> None:
    missing = tmp_path / "nothing-here.sqlite3"
    result = run_cli("copy-db", "--from", f"sqlite:///{missing}",
                     "--to", f"sqlite:///{tmp_path / 'target.sqlite3'}")
    assert result.exit_code == 2, result.output
    assert f"no database at {missing}" in result.stderr
    assert not missing.exists()


def test_the_configured_database_is_the_default_source(history: History, run_cli: Cli) -> None:
    target = f"sqlite:///{history.tmp / 'copy.sqlite3'}"
    result = _ok(run_cli("copy-db", "--config", str(history.config(history.url)),
                         "--to", target))
    assert "letters: 1 row" in result.stdout
    assert seen(run_cli, history.config(target)) == seen(run_cli, history.config(history.url))


def test_a_copy_waits_for_no_running_check(history: History, run_cli: Cli) -> None:
    target = f"sqlite:///{history.tmp / 'copy.sqlite3'}"
    with open_store(history.url, NOW) as store, store.run_lock():
        result = run_cli("copy-db", "--from", history.url, "--to", target)
    assert result.exit_code == 75, result.output
    assert "another lettermon run holds" in result.stderr
    assert row_counts(target)["letters"] == 0


# -- all or nothing -------------------------------------------------------------------------

def _add_trigger(url: str, sql: str) -> None:
    with open_store(url, NOW) as store:
        store.db.execute(sql)


def test_a_target_that_refuses_a_row_is_left_empty(history: History, run_cli: Cli) -> None:
    target = f"sqlite:///{history.tmp / 'target.sqlite3'}"
    _add_trigger(target, "CREATE TRIGGER no_outbox BEFORE INSERT ON outbox "
                         "BEGIN SELECT RAISE(ABORT, 'the outbox is closed'); END")
    result = run_cli("copy-db", "--from", history.url, "--to", target)
    assert result.exit_code == 1, result.output
    assert "the outbox is closed" in result.stderr
    assert "the target was left as it was" in result.stderr
    assert row_counts(target) == dict.fromkeys(row_counts(target), 0)
    # the letters, polls and signatories copied before the outbox were rolled back too
    assert row_counts(history.url)["signatories"] == 602


@pytest.mark.postgres
def test_a_row_postgres_cannot_hold_leaves_it_empty(history: History, pg_url: str,
                                                    run_cli: Cli) -> None:
    with sqlite3.connect(history.sqlite) as conn:  # an outbox row past PostgreSQL's INTEGER
        conn.execute("UPDATE outbox SET attempts = ? WHERE milestone = 600", (2 ** 40,))
    result = run_cli("copy-db", "--from", history.url, "--to", pg_url)
    assert result.exit_code == 1, result.output
    assert "out of range" in result.stderr
    assert row_counts(pg_url) == dict.fromkeys(row_counts(pg_url), 0)
    with sqlite3.connect(history.sqlite) as conn:
        conn.execute("UPDATE outbox SET attempts = 1 WHERE milestone = 600")
    _ok(run_cli("copy-db", "--from", history.url, "--to", pg_url))  # now it goes through
    assert row_counts(pg_url) == row_counts(history.url)


def test_a_copy_that_differs_is_reported_and_rolled_back(history: History,
                                                         run_cli: Cli) -> None:
    target = f"sqlite:///{history.tmp / 'target.sqlite3'}"
    _add_trigger(target, "CREATE TRIGGER garble AFTER INSERT ON signatories BEGIN "
                         "UPDATE signatories SET fields = '{}' WHERE id = NEW.id "
                         "AND NEW.id = 7; END")
    result = run_cli("copy-db", "--from", history.url, "--to", target)
    assert result.exit_code == 1, result.output
    differs = [line for line in result.stdout.splitlines() if "DIFFERS" in line]
    assert len(differs) == 1 and differs[0].startswith("signatories: 602 rows")
    assert "letters: 1 row" in result.stdout  # the tables that match say so
    assert "the copy differs from the source in signatories" in result.stderr
    assert row_counts(target) == dict.fromkeys(row_counts(target), 0)


@pytest.mark.postgres
def test_costs_keep_the_precision_postgres_gives_them(history: History, pg_url: str,
                                                      run_cli: Cli) -> None:
    """PostgreSQL keeps the outbox's REAL costs in single precision: a price such as 0.015
    comes back as it was; a cost with more digits keeps the 7 or so PostgreSQL holds, and
    the verification compares it at that precision."""
    with sqlite3.connect(history.sqlite) as conn:
        conn.execute("UPDATE outbox SET cost = 0.015 WHERE milestone = 500")
        conn.execute("UPDATE outbox SET cost = 1.0 / 3 WHERE milestone = 600")
    assert copy_database(history.url, pg_url, NOW).ok
    back = f"sqlite:///{history.tmp / 'back.sqlite3'}"
    assert copy_database(pg_url, back, NOW).ok
    costs = [e["cost"] for e in seen(run_cli, history.config(back))["outbox"]]
    assert costs[0] == 0.015
    assert costs[1] == pytest.approx(1 / 3, rel=1e-7) and costs[1] != 1 / 3


# -- the library API ------------------------------------------------------------------------

ROBOTS = Migration(99, "robots (a later migration)", (
    "CREATE TABLE robots (id {pk}, name TEXT NOT NULL, seen_at TEXT NOT NULL, "
    "state {blob})",
    "ALTER TABLE polls ADD COLUMN robot_id INTEGER REFERENCES robots(id)",
    "ALTER TABLE letters ADD COLUMN claimed_by INTEGER REFERENCES robots(id)",
))
LATER = (*MIGRATIONS, ROBOTS)


def _later_schema(url: str) -> None:
    with open_store(url, NOW) as store:
        migrate(store.db, NOW, LATER)


@pytest.mark.parametrize("target_kind", [
    "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_tables_and_columns_a_later_migration_adds_are_copied(
        history: History, target_kind: str, request: pytest.FixtureRequest) -> None:
    target = (request.getfixturevalue("pg_url") if target_kind == "postgresql"
              else f"sqlite:///{history.tmp / 'later.sqlite3'}")
    _later_schema(history.url)
    _later_schema(target)
    with open_store(history.url, NOW) as store, store.transaction():
        robot = store.db.scalar("INSERT INTO robots (name, seen_at, state) "
                                "VALUES (?, ?, ?) RETURNING id",
                                ("w1", NOW, bytes(range(256))))
        store.db.execute("UPDATE polls SET robot_id = ? WHERE id % 2 = 1", (robot,))
        store.db.execute("UPDATE letters SET claimed_by = ?", (robot,))

    report = copy_database(history.url, target, NOW, migrations=LATER)

    names = [t.name for t in report.tables]
    assert names.index("robots") < names.index("letters") < names.index("polls")
    assert names.index("page_blobs") < names.index("poll_pages")
    assert report.ok and {t.name: t.rows for t in report.tables}["robots"] == 1
    with open_store(target, NOW) as store:
        assert store.db.all("SELECT name, state FROM robots") == [("w1", bytes(range(256)))]
        assert store.db.scalar("SELECT COUNT(*) FROM polls WHERE robot_id = ?", (robot,)) == 3
        assert store.db.scalar("SELECT claimed_by FROM letters") == robot
        versions = store.db.all("SELECT version, applied_at FROM schema_migrations "
                                "ORDER BY version")
    with open_store(history.url, NOW) as store:
        assert versions == store.db.all("SELECT version, applied_at FROM schema_migrations "
                                        "ORDER BY version")


def test_a_newer_source_schema_is_refused(history: History) -> None:
    _later_schema(history.url)
    with pytest.raises(CopyRefused, match="version 99, newer than this lettermon"):
        copy_database(history.url, f"sqlite:///{history.tmp / 't.sqlite3'}", NOW)


def test_progress_is_reported_per_table(history: History) -> None:
    seen_progress: list[tuple[str, int, int]] = []
    report = copy_database(history.url, f"sqlite:///{history.tmp / 't.sqlite3'}", NOW,
                           batch=100, progress=lambda *a: seen_progress.append(a))
    signatories = [(done, total) for table, done, total in seen_progress
                   if table == "signatories"]
    assert signatories[0] == (0, 602) and signatories[-1] == (602, 602)
    assert [d for d, _ in signatories] == sorted(d for d, _ in signatories)
    assert len(signatories) >= 7  # a step per batch of 100
    assert {table for table, _, _ in seen_progress} == {t.name for t in report.tables}


def test_a_terminal_shows_a_progress_bar_per_table(history: History) -> None:
    import pty

    leader, follower = pty.openpty()
    proc = subprocess.run(
        [sys.executable, "-m", "lettermon", "copy-db", "--from", history.url,
         "--to", f"sqlite:///{history.tmp / 'copy.sqlite3'}"],
        stdout=subprocess.PIPE, stderr=follower, timeout=60, check=False)
    os.close(follower)
    drawn = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed: all was read
            break
        if not chunk:
            break
        drawn += chunk
    os.close(leader)
    assert proc.returncode == 0, drawn
    text = drawn.decode()
    assert "copying signatories: [" + "#" * 30 + "] 602/602 rows" in text
    assert "copying outbox: [" in text and text.endswith("\r\x1b[2K")  # cleared at the end
    assert "signatories: 602 rows" in proc.stdout.decode()  # the summary goes to stdout


def test_the_progress_line_draws_a_table_bar() -> None:
    import io

    from lettermon.cli.progress import ProgressLine

    stream = io.StringIO()
    line = ProgressLine(stream, every=0)
    advance = line.for_table("signatories")
    advance(500, 1_000)
    advance(1_000, 1_000)
    line.close()
    text = stream.getvalue()
    assert "copying signatories: [###############---------------] 500/1,000 rows" in text
    assert "1,000/1,000 rows" in text and text.endswith("\r\x1b[2K")


# -- constant memory ------------------------------------------------------------------------

def build_big(url: str, signatories: int, name: str = NAME) -> None:
    """A letter with ``signatories`` rows, written straight through the store."""
    with open_store(url, NOW) as store:
        state = store.letters.ensure(name, f"http://127.0.0.1/{name}", NOW)
        batch = 5_000
        with store.transaction():
            poll = store.polls.start(state.id, NOW)
            for start in range(0, signatories, batch):
                rows = [Row.of((("first_name", f"Ada{i}"), ("last_name", f"Lovelace {i}"),
                                ("title", "Professor of Things and Stuff"),
                                ("institution", f"University number {i % 977}")))
                        for i in range(start, min(start + batch, signatories))]
                store.signatories.add(state.id, rows, NOW, poll)
                store.pages.keep(poll, start // batch + 1, os.urandom(2_000))


# Linux keeps a process's peak RSS across exec, so a child forked straight from this
# (large) test process would report at least this process's size. A small Python process
# in between starts the measured child and reads its own rusage with wait4.
MEASURE_RSS = """
import json, os, subprocess, sys, tempfile
with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
    proc = subprocess.Popen([sys.executable, "-m", "lettermon", *sys.argv[1:]],
                            stdout=out, stderr=err)
    _, status, usage = os.wait4(proc.pid, 0)
    out.seek(0)
    err.seek(0)
    print(json.dumps({"code": os.waitstatus_to_exitcode(status), "maxrss_kb": usage.ru_maxrss,
                      "out": out.read().decode(), "err": err.read().decode()}))
"""


def peak_rss_kb(*args: str) -> int:
    """Run ``lettermon ARGS`` in a child; its own peak RSS, in KiB."""
    proc = subprocess.run([sys.executable, "-c", MEASURE_RSS, *args], capture_output=True,
                          text=True, check=True, timeout=300)
    measured = json.loads(proc.stdout)
    assert measured["code"] == 0, measured["out"] + measured["err"]
    assert "counts and fingerprints match" in measured["out"]
    return int(measured["maxrss_kb"])


@pytest.mark.slow
@pytest.mark.parametrize("source_kind", [
    "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_memory_stays_flat_from_10_000_to_100_000_signatories(
        tmp_path: Path, source_kind: str, request: pytest.FixtureRequest) -> None:
    source = (request.getfixturevalue("pg_url") if source_kind == "postgresql"
              else f"sqlite:///{tmp_path / 'source.sqlite3'}")
    peaks = {}
    build_big(source, 10_000)
    peaks[10_000] = peak_rss_kb("copy-db", "--from", source,
                                "--to", f"sqlite:///{tmp_path / 'small.sqlite3'}")
    build_big(source, 90_000, name="another")
    peaks[100_000] = peak_rss_kb("copy-db", "--from", source,
                                 "--to", f"sqlite:///{tmp_path / 'big.sqlite3'}")
    growth_mb = (peaks[100_000] - peaks[10_000]) / 1024
    print(f"copy-db from {source_kind}, peak RSS: {peaks[10_000] / 1024:.1f} MB at 10,000, "
          f"{peaks[100_000] / 1024:.1f} MB at 100,000 signatories")
    assert growth_mb < 10, peaks
