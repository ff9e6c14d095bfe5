"""Several workers on one PostgreSQL database, and several letters at once in one worker.

The soak test runs three real ``lettermon run`` processes on 30 letters polled every two
seconds, makes every letter cross a milestone, and SIGKILLs one worker midway; then reads
from the database and the local receiver what a user would want to be true.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

import widget
from letter_server import LetterSite, serve

pytest_plugins = ["fakes.fixtures"]

LETTERMON = str(Path(sys.executable).parent / "lettermon")


def env() -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith("LETTERMON_")}
    return {**keep, "LETTERMON_LOG_FORMAT": "json", "LETTERMON_SECRETS_DIR": "/nonexistent"}


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def when(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


@pytest.fixture
def sites() -> Iterator[list[LetterSite]]:
    with ExitStack() as stack:
        yield [stack.enter_context(serve(LetterSite(widget.make_signatories(480, seed=i))))
               for i in range(30)]


def config(path: Path, database: str, sites: list[LetterSite], hook: str, *,
           lease: str = "6s") -> Path:
    letters = "".join(
        f'[[letters]]\nname = "l{i}"\nurl = "{site.url}"\n' for i, site in enumerate(sites))
    path.write_text(
        f'database_url = "{database}"\n'
        '[http]\ntimeout = "2s"\nretries = 0\npoll_deadline = "4s"\n'
        f'[worker]\nconcurrency = 4\nlease = "{lease}"\ntick = "0.5s"\n'
        '[defaults]\ninterval = "2s"\nmilestones = { every = 100 }\n'
        f'{letters}'
        f'[[channels]]\nname = "hook"\nkind = "webhook"\nurl = "{hook}"\ntimeout = 5\n'
        'daily_cap = 100\n',
        encoding="utf-8")
    return path


@pytest.mark.postgres
@pytest.mark.slow
def test_three_workers_share_thirty_letters_and_survive_a_kill(
        pg_url: str, sites: list[LetterSite], webhook_receiver: Any, tmp_path: Path) -> None:
    import psycopg

    cfg = config(tmp_path / "lettermon.toml", pg_url, sites, webhook_receiver.url)
    logs = [(tmp_path / f"worker{i}.log").open("w") for i in range(3)]
    workers = [subprocess.Popen([LETTERMON, "run", "--config", str(cfg)], env=env(),
                                stdout=subprocess.DEVNULL, stderr=log) for log in logs]
    db = psycopg.connect(pg_url, autocommit=True)

    def scalar(sql: str) -> Any:
        try:
            return db.execute(sql).fetchone()[0]  # type: ignore[index]
        except psycopg.errors.UndefinedTable:  # the first worker is setting up the schema
            return 0

    try:
        wait_for(lambda: scalar("SELECT COUNT(DISTINCT letter_id) FROM polls "
                                "WHERE outcome = 'ok'") == 30, 60, "every letter's backfill")
        for site in sites:
            site.sign(widget.make_signatories(30, seed=1000))  # 510: past 500
        time.sleep(3)
        killed_at = time.time()
        workers[0].kill()
        workers[0].wait(10)
        wait_for(lambda: len(webhook_receiver.posts) == 30, 60, "a post for every letter")
        wait_for(lambda: scalar(
            "SELECT COUNT(*) FROM (SELECT letter_id FROM polls GROUP BY letter_id "
            f"HAVING MAX(at) > '{_iso(killed_at + 8 + 2 + 2)}') x") == 30, 40,
            "every letter polled again after the killed worker's leases expired")
        for worker in workers[1:]:
            worker.send_signal(signal.SIGTERM)
        codes = [worker.wait(15) for worker in workers[1:]]
    finally:
        for worker in workers:
            worker.kill()
        for log in logs:
            log.close()
    logged = "".join((tmp_path / f"worker{i}.log").read_text() for i in range(3))
    assert codes == [0, 0], logged[-3000:]

    polls = db.execute("SELECT l.name, p.at, p.duration_ms, p.worker, p.outcome FROM polls p "
                       "JOIN letters l ON l.id = p.letter_id ORDER BY l.name, p.at").fetchall()
    assert scalar("SELECT COUNT(*) FROM polls WHERE outcome = 'running'") == 0
    by_letter: dict[str, list[tuple[float, float, str]]] = {}
    for name, at, ms, worker, _ in polls:
        by_letter.setdefault(name, []).append((when(at), when(at) + ms / 1000, worker))
    for name, spans in by_letter.items():  # one poll of a letter at a time, whoever polls
        for (_, end, first), (start, _, second) in itertools.pairwise(spans):
            assert start >= end - 0.05, f"{name}: polls by {first} and {second} overlap"
    assert len({w for spans in by_letter.values() for _, _, w in spans}) == 3
    for name, spans in by_letter.items():  # none was left unpolled after the kill
        after = [start for start, _, _ in spans if start > killed_at]
        assert after and after[0] - killed_at < 6 + 2 + 2 + 2, name
    sent = db.execute("SELECT l.name, o.milestone, o.status FROM outbox o "
                      "JOIN letters l ON l.id = o.letter_id ORDER BY l.name").fetchall()
    assert sorted(sent) == sorted((f"l{i}", 500, "sent") for i in range(30))
    texts = webhook_receiver.texts()
    assert len(texts) == 30 and all("500 " in text for text in texts)
    db.close()


def _iso(moment: float) -> str:
    from datetime import UTC

    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@pytest.mark.postgres
def test_one_worker_polls_several_letters_at_once_within_the_host_limit(
        pg_url: str, httpserver: HTTPServer, tmp_path: Path) -> None:
    """Six letters on one site, four threads, two requests per host at most."""
    in_flight = 0
    most = 0
    lock = threading.Lock()

    def slow(site: LetterSite, page: int) -> None:
        nonlocal in_flight, most
        with lock:
            in_flight += 1
            most = max(most, in_flight)
        time.sleep(0.3)
        with lock:
            in_flight -= 1

    site = LetterSite(widget.make_signatories(50, seed=3), on_page=slow)
    with serve(site):
        letters = "".join(f'[[letters]]\nname = "l{i}"\nurl = "{site.url}"\n'
                          for i in range(6))
        cfg = tmp_path / "lettermon.toml"
        cfg.write_text(f'database_url = "{pg_url}"\n[http]\nper_host = 2\n'
                       '[worker]\nconcurrency = 4\ntick = "0.2s"\n'
                       f'[defaults]\ninterval = "30s"\n{letters}', encoding="utf-8")
        worker = subprocess.Popen([LETTERMON, "run", "--config", str(cfg)], env=env(),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            wait_for(lambda: len(site.requests) >= 6, 30, "six first polls")
            worker.send_signal(signal.SIGTERM)
            _, err = worker.communicate(timeout=15)
        finally:
            worker.kill()
    assert worker.returncode == 0, err[-2000:]
    assert most == 2  # several letters at once, never more than the host allows
