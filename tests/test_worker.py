"""Running unattended: the scheduler, cron overlap, alerts and health."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

import widget
from letter_server import Fault, LetterSite, serve

LETTERMON = str(Path(sys.executable).parent / "lettermon")


class Receiver:
    """A webhook endpoint that keeps one post per Idempotency-Key, as a careful one does."""

    def __init__(self, server: HTTPServer) -> None:
        self.posts: dict[str, dict[str, Any]] = {}
        self.requests = 0
        self.url = server.url_for("/hook")
        server.expect_request("/hook", method="POST").respond_with_handler(self.handle)

    def handle(self, request: Request) -> Response:
        self.requests += 1
        key = request.headers["Idempotency-Key"]
        self.posts.setdefault(key, json.loads(request.data))
        return Response(json.dumps({"id": key}), status=200, content_type="application/json")

    def texts(self) -> list[str]:
        return [p["text"] for p in self.posts.values()]


@pytest.fixture
def receiver(httpserver: HTTPServer) -> Receiver:
    return Receiver(httpserver)


def channels(receiver: Receiver, *, operator: bool = False) -> str:
    return (f'\n[[channels]]\nname = "{"ops" if operator else "announce"}"\nkind = "webhook"\n'
            f'url = "{receiver.url}"\noperator = {"true" if operator else "false"}\n')


def env() -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith("LETTERMON_")}
    return {**keep, "LETTERMON_LOG_FORMAT": "json", "LETTERMON_SECRETS_DIR": "/nonexistent"}


def polls(database: Path) -> list[tuple[str, int | None]]:
    """The polls stored so far; none while the worker is still creating the database."""
    try:
        with sqlite3.connect(database) as db:
            return db.execute("SELECT outcome, count FROM polls ORDER BY id").fetchall()
    except sqlite3.OperationalError:  # no such table yet: migrations are running
        return []


def wait_for(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


@pytest.fixture
def letter() -> Iterator[LetterSite]:
    with serve(LetterSite(widget.make_signatories(480, seed=21))) as site:
        yield site


def test_run_polls_on_time_posts_once_and_stops_cleanly_on_sigterm(
        letter: LetterSite, receiver: Receiver, config_for: Callable[..., Path],
        tmp_path: Path) -> None:
    cfg = config_for(letter, letter_extra='interval = "1s"\nmilestones = { every = 100 }')
    cfg.write_text(cfg.read_text() + channels(receiver))
    database = tmp_path / "data" / "lettermon.sqlite3"
    started = time.monotonic()
    worker = subprocess.Popen([LETTERMON, "run", "--config", str(cfg)], env=env(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: database.exists() and len(polls(database)) >= 2)
        letter.sign(widget.make_signatories(30, seed=22))  # 510: crosses 500
        wait_for(lambda: len(receiver.posts) == 1)
        polled = len(polls(database))
        time.sleep(2.2)
        assert len(polls(database)) >= polled + 1  # still polling every second or so
        stopping = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        _, err = worker.communicate(timeout=12)
    finally:
        worker.kill()
    assert worker.returncode == 0, err
    assert time.monotonic() - stopping < 10
    history = polls(database)
    elapsed = time.monotonic() - started
    assert len(history) <= elapsed / 0.9 + 2  # jitter keeps polls near the 1 s interval
    assert all(outcome in ("ok", "unchanged") for outcome, _ in history)
    assert history[-1][1] == 510
    assert receiver.texts() == [receiver.texts()[0]] and "500" in receiver.texts()[0]
    events = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    poll_events = [e for e in events if e.get("event") == "poll"]
    assert poll_events and {"letter", "count", "delta", "pages", "bytes", "duration"} <= set(
        poll_events[-1])
    with sqlite3.connect(database) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_killed_worker_restarts_without_losing_or_repeating(
        letter: LetterSite, receiver: Receiver, config_for: Callable[..., Path],
        tmp_path: Path) -> None:
    cfg = config_for(letter, letter_extra='interval = "1s"\nmilestones = { every = 100 }')
    cfg.write_text(cfg.read_text() + channels(receiver))
    database = tmp_path / "data" / "lettermon.sqlite3"
    for round_ in range(2):
        worker = subprocess.Popen([LETTERMON, "run", "--config", str(cfg)], env=env(),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            before = len(polls(database)) if database.exists() else 0
            wait_for(lambda b=before: database.exists() and len(polls(database)) >= b + 2)
            if round_ == 0:
                letter.sign(widget.make_signatories(25, seed=23))
                wait_for(lambda: len(receiver.posts) == 1)
        finally:
            worker.send_signal(signal.SIGKILL)
            worker.wait(5)
    with sqlite3.connect(database) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        stored = db.execute("SELECT COUNT(*) FROM signatories WHERE removed_at IS NULL")
        assert stored.fetchone() == (505,)
        assert db.execute("SELECT status FROM outbox").fetchall() == [("sent",)]
    # killed between the receiver's answer and the ledger's update, a restart sends again
    # with the same Idempotency-Key, which the receiver keeps once
    assert len(receiver.posts) == 1 and receiver.requests in (1, 2)


def test_overlapping_cron_runs_one_polls_the_other_exits_75(
        letter: LetterSite, config_for: Callable[..., Path]) -> None:
    cfg = config_for(letter)
    first_request = threading.Event()

    def slow(site: LetterSite, page: int) -> None:
        first_request.set()
        time.sleep(1.5)

    letter.on_page = slow
    first = subprocess.Popen([LETTERMON, "check", "--config", str(cfg)], env=env(),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert first_request.wait(15)
        started = time.monotonic()
        second = subprocess.run([LETTERMON, "check", "--config", str(cfg)], env=env(),
                                capture_output=True, text=True, timeout=30, check=False)
        assert second.returncode == 75
        assert time.monotonic() - started < 5  # at once, not after waiting for the lock
        assert "another lettermon run holds" in second.stderr
        out, _ = first.communicate(timeout=60)
    finally:
        first.kill()
    assert first.returncode == 0
    assert "480 signatures" in out


def test_faults_raise_one_alert_and_one_recovery_notice(
        letter: LetterSite, receiver: Receiver, config_for: Callable[..., Path],
        run_cli: Callable[..., Result]) -> None:
    cfg = config_for(letter)
    cfg.write_text(cfg.read_text() + channels(receiver, operator=True))
    check = ("check", "--config", str(cfg))
    assert run_cli(*check).exit_code == 0
    assert run_cli("health", "--config", str(cfg)).exit_code == 0
    faults = [Fault("status", 503), Fault("status", 503),  # a failed poll (retries used up)
              Fault("status", 429, headers={"Retry-After": "0"}),
              Fault("status", 429, headers={"Retry-After": "0"}),
              Fault("challenge", 503), Fault("layout")]
    letter.fail(*faults)
    outcomes = [run_cli(*check).exit_code for _ in range(4)]
    assert outcomes == [1, 1, 1, 1]
    assert len(receiver.posts) == 1  # the 3rd failure in a row, and not the 4th
    [alert] = receiver.texts()
    assert "rekognition" in alert and "3 polls in a row" in alert and "blocked" in alert
    unhealthy = run_cli("health", "--config", str(cfg))
    assert unhealthy.exit_code == 1
    assert ("rekognition: 4 polls in a row failed (layout changed, blocked, HTTP error ×2)"
            in unhealthy.output)
    letter.validators = False
    assert run_cli(*check).exit_code == 0  # recovered
    assert run_cli(*check).exit_code == 0
    assert len(receiver.posts) == 2
    assert "works again" in receiver.texts()[1]
    assert run_cli("health", "--config", str(cfg)).exit_code == 0
    as_json = json.loads(run_cli("health", "--config", str(cfg), "--format", "json").output)
    assert as_json["ok"] is True and as_json["letters"][0]["count"] == 480


def test_health_reports_a_stale_letter_and_a_post_given_up(
        letter: LetterSite, config_for: Callable[..., Path], run_cli: Callable[..., Result],
        httpserver: HTTPServer) -> None:
    httpserver.expect_request("/refuse", method="POST").respond_with_data("no", status=401)
    cfg = config_for(letter, letter_extra='max_age = "1s"\nmilestones = { every = 100 }')
    cfg.write_text(cfg.read_text() + f'\n[[channels]]\nname = "announce"\nkind = "webhook"\n'
                   f'url = "{httpserver.url_for("/refuse")}"\n')
    assert json.loads(run_cli("health", "--config", str(cfg), "--format", "json").output)[
        "ok"] is False  # never polled
    run_cli("check", "--config", str(cfg))
    letter.sign(widget.make_signatories(25, seed=3))
    run_cli("check", "--config", str(cfg))  # 505: the post is refused for good
    time.sleep(1.1)
    result = run_cli("health", "--config", str(cfg))
    assert result.exit_code == 1
    assert "rekognition: last successful poll" in result.output
    assert "(rekognition → announce) gave up" in result.output


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_metrics_endpoint_and_logs_without_secrets(
        letter: LetterSite, receiver: Receiver, config_for: Callable[..., Path],
        tmp_path: Path) -> None:
    import httpx

    port = free_port()
    cfg = config_for(letter, letter_extra='interval = "1s"\nmilestones = { every = 100 }',
                     extra=f'log_level = "DEBUG"\n[metrics]\nenabled = true\nport = {port}')
    cfg.write_text(cfg.read_text() + channels(receiver) .replace(
        'kind = "webhook"', 'kind = "webhook"\nsecret = "s3cr3t-from-file"'))
    token = "tok-1f2e3d4c5b6a"
    worker = subprocess.Popen([LETTERMON, "run", "--config", str(cfg)],
                              env={**env(), "LETTERMON_ANNOUNCE_SECRET": token},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        database = tmp_path / "data" / "lettermon.sqlite3"
        wait_for(lambda: database.exists() and len(polls(database)) >= 1)
        letter.sign(widget.make_signatories(25, seed=31))
        wait_for(lambda: len(receiver.posts) == 1)
        page = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=12)
    finally:
        worker.kill()
    assert 'lettermon_signatures{letter="rekognition"} 505.0' in page
    assert 'lettermon_polls_total{letter="rekognition",outcome="ok"}' in page
    assert 'lettermon_posts{channel="announce",status="sent"} 1.0' in page
    assert "lettermon_last_success_timestamp_seconds" in page
    assert token not in out + err and "s3cr3t-from-file" not in out + err
    # debug logging was on (each request and each send has a line), and still no secret
    assert '"event": "request"' in err and '"event": "sending"' in err


def test_check_killed_mid_crawl_leaves_nothing_half_written(
        config_for: Callable[..., Path], tmp_path: Path) -> None:
    reached = threading.Event()

    def slow(site: LetterSite, page: int) -> None:
        if page >= 4:
            reached.set()
            time.sleep(0.3)

    with serve(LetterSite(widget.make_signatories(1000, seed=41), on_page=slow)) as site:
        cfg = config_for(site)
        database = tmp_path / "data" / "lettermon.sqlite3"
        check = subprocess.Popen([LETTERMON, "check", "--config", str(cfg)], env=env(),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert reached.wait(15)
        check.send_signal(signal.SIGKILL)
        check.wait(5)
        with sqlite3.connect(database) as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            assert db.execute("SELECT COUNT(*) FROM signatories").fetchone() == (0,)
            assert db.execute("SELECT COUNT(*) FROM polls").fetchone() == (0,)
        site.on_page = None
        again = subprocess.run([LETTERMON, "check", "--config", str(cfg)], env=env(),
                               capture_output=True, text=True, timeout=60, check=False)
        assert again.returncode == 0, again.stderr
        assert "1,000 signatures (first poll: 1,000 signatories recorded)" in again.stdout


@pytest.mark.parametrize(("signatories", "finished"), [(800, True), (6000, False)])
def test_sigterm_lets_a_short_poll_finish_and_stops_a_long_one_within_10_s(
        config_for: Callable[..., Path], tmp_path: Path, signatories: int,
        finished: bool) -> None:
    third_page = threading.Event()

    def slow(site: LetterSite, page: int) -> None:
        if page >= 3:
            third_page.set()
        time.sleep(0.4)

    with serve(LetterSite(widget.make_signatories(signatories, seed=51), on_page=slow)) as site:
        cfg = config_for(site, letter_extra='interval = "1h"')
        worker = subprocess.Popen([LETTERMON, "run", "--config", str(cfg)], env=env(),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            assert third_page.wait(20)
            stopping = time.monotonic()
            worker.send_signal(signal.SIGTERM)
            _, err = worker.communicate(timeout=15)
        finally:
            worker.kill()
    assert worker.returncode == 0, err
    assert time.monotonic() - stopping < 10
    with sqlite3.connect(tmp_path / "data" / "lettermon.sqlite3") as db:
        stored = db.execute("SELECT COUNT(*) FROM signatories").fetchone()[0]
    if finished:  # 8 pages: the poll in progress completes and is stored
        assert stored == signatories
    else:  # 60 pages: stopped between pages after the grace period, nothing half-written
        assert stored == 0
        assert "stopped by shutdown" in err


def test_a_thread_that_finishes_a_poll_takes_the_next_due_letter_at_once(
        tmp_path: Path) -> None:
    """Quick polls are not paced by the claim timer: with a tick of 30 s, twenty letters due
    at start are all polled in seconds (one at a time on SQLite), not one per tick."""
    site = LetterSite(widget.make_signatories(20, seed=5))
    with serve(site):
        letters = "".join(f'[[letters]]\nname = "l{i}"\nurl = "{site.url}?n={i}"\n'
                          for i in range(20))
        database = tmp_path / "lettermon.sqlite3"
        cfg = tmp_path / "lettermon.toml"
        cfg.write_text(f'database_url = "sqlite:///{database}"\n'
                       '[worker]\ntick = "30s"\n[defaults]\ninterval = "1h"\n' + letters,
                       encoding="utf-8")
        worker = subprocess.Popen([LETTERMON, "run", "--config", str(cfg)], env=env(),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            wait_for(lambda: len(polls(database)) >= 20, timeout=20)
            time.sleep(1)
            worker.send_signal(signal.SIGTERM)
            _, err = worker.communicate(timeout=15)
        finally:
            worker.kill()
    assert worker.returncode == 0, err[-2000:]
    assert [outcome for outcome, _ in polls(database)] == ["ok"] * 20  # each once, no more
