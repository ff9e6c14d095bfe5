"""Every request and every poll ends in bounded time; a stop ends them within seconds."""

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

from lettermon.errors import FetchError, Interrupted
from lettermon.settings import HttpSettings
from lettermon.watch.fetch import Deadline, Fetcher, make_client

import widget
from conftest import write_config
from hostile_server import Connection, answer, drip, head, serve_raw, stall
from letter_server import LetterSite, serve

LETTERMON = str(Path(sys.executable).parent / "lettermon")


def settings(**changes: Any) -> HttpSettings:
    return HttpSettings(**{"retries": 2, "retry_budget": 60, "timeout": 5, **changes})


def fetcher(http: HttpSettings, **options: Any) -> Fetcher:
    return Fetcher(make_client(http), http, **options)


def host_of(url: str) -> str:
    return url.split("/")[2]


def env(**extra: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith("LETTERMON_")}
    return {**keep, "LETTERMON_LOG_FORMAT": "json", "LETTERMON_SECRETS_DIR": "/nonexistent",
            **extra}


def busy_then_ok(retry_after: str) -> Callable[[Connection], None]:
    """503 with ``Retry-After`` to the first request, a page to the others."""
    calls: list[int] = []
    page = answer(200, b"<html>letter</html>")

    def respond(conn: Connection) -> None:
        calls.append(1)
        if len(calls) == 1:
            conn.send(head(503, Retry_After=retry_after, Content_Length="4",
                           Connection="close") + b"busy")
        else:
            page(conn)
    return respond


# -- the request's deadline -----------------------------------------------------------------

def test_a_dripping_response_fails_at_the_request_deadline() -> None:
    http = settings(timeout=2, deadline=2.5)
    with serve_raw(drip(every=0.3)) as server:
        client = fetcher(http)
        started = time.monotonic()
        with pytest.raises(FetchError) as caught:
            client.get(server.url)
        elapsed = time.monotonic() - started
        client.close()
    assert caught.value.kind == "timeout"
    assert str(caught.value) == f"no complete response from {host_of(server.url)} within 2.5s"
    assert 2.4 < elapsed < 3.5


def test_the_default_deadline_is_three_timeouts() -> None:
    http = settings(timeout=1)
    assert http.request_deadline == 3
    with serve_raw(drip(every=0.3)) as server:
        client = fetcher(http)
        started = time.monotonic()
        with pytest.raises(FetchError, match="within 3s"):
            client.get(server.url)
        client.close()
    assert time.monotonic() - started < 4


def test_an_earlier_deadline_of_the_caller_wins() -> None:
    with serve_raw(drip(every=0.3)) as server:
        client = fetcher(settings(timeout=2))
        started = time.monotonic()
        with pytest.raises(FetchError, match="within the poll's 1s deadline") as caught:
            client.get(server.url, deadline=Deadline.after(1.0, "the poll's 1s deadline"))
        client.close()
    assert caught.value.kind == "timeout"
    assert time.monotonic() - started < 2


def test_a_retry_wait_past_the_deadline_is_not_waited() -> None:
    sleeps: list[float] = []
    with serve_raw(busy_then_ok("3")) as server:
        client = fetcher(settings(deadline=2), sleep=sleeps.append)
        with pytest.raises(FetchError, match="HTTP 503") as caught:
            client.get(server.url)
        client.close()
    assert sleeps == []
    assert caught.value.status == 503
    assert len(server.heads) == 1


def test_a_retry_wait_within_the_deadline_is_waited() -> None:
    with serve_raw(busy_then_ok("1")) as server:
        client = fetcher(settings(deadline=3))
        result = client.get(server.url)
        client.close()
    assert result.body == b"<html>letter</html>"
    assert result.requests == 2


def test_check_against_a_drip_ends_at_the_deadline(tmp_path: Path) -> None:
    with serve_raw(drip(every=0.3, for_at_most=25)) as server:
        cfg = write_config(tmp_path / "lettermon.toml", server.url,
                           database=tmp_path / "lettermon.sqlite3")
        started = time.monotonic()
        check = subprocess.run([LETTERMON, "check", "--no-post", "--config", str(cfg)],
                               env=env(LETTERMON_HTTP__TIMEOUT="1s"), capture_output=True,
                               text=True, timeout=20, check=False)
        elapsed = time.monotonic() - started
    assert check.returncode == 1, check.stderr
    assert f"FAILED: no complete response from {host_of(server.url)} within 3s" in check.stdout
    assert elapsed < 10


def test_a_poll_shares_one_deadline_across_its_pages(
        config_for: Callable[..., Path], run_cli: Callable[..., Result],
        monkeypatch: pytest.MonkeyPatch) -> None:
    def slow(site: LetterSite, page: int) -> None:
        time.sleep(0.3)

    monkeypatch.setenv("LETTERMON_HTTP__POLL_DEADLINE", "1s")
    with serve(LetterSite(widget.make_signatories(1000, seed=3), on_page=slow)) as site:
        started = time.monotonic()
        result = run_cli("check", "--no-post", "--config", str(config_for(site)))
        elapsed = time.monotonic() - started
        requested = len(site.requests)
    assert result.exit_code == 1
    assert "PARTIAL: no complete response from" in result.output
    assert "within the poll's 1s deadline" in result.output
    assert requested <= 5  # of 10 pages, each taking 0.3 s
    assert elapsed < 3
    history = json.loads(run_cli("history", "rekognition", "--format", "json", "--config",
                                 str(config_for(site))).output)
    assert [p["outcome"] for p in history] == ["partial"]


# -- cancellation ---------------------------------------------------------------------------

def cancel_after(seconds: float) -> threading.Event:
    flag = threading.Event()
    threading.Timer(seconds, flag.set).start()
    return flag


def test_cancelling_ends_a_stalled_request_within_a_second() -> None:
    with serve_raw(stall(40)) as server:
        flag = cancel_after(0.5)
        client = fetcher(settings(timeout=30), cancel=flag.is_set)
        started = time.monotonic()
        with pytest.raises(Interrupted):
            client.get(server.url)
        elapsed = time.monotonic() - started
        client.close()
    assert elapsed < 1.5


def test_cancelling_ends_a_retry_wait_at_once() -> None:
    with serve_raw(busy_then_ok("20")) as server:
        flag = cancel_after(0.5)
        client = fetcher(settings(timeout=30, deadline=60), cancel=flag.is_set)
        started = time.monotonic()
        with pytest.raises(Interrupted):
            client.get(server.url)
        elapsed = time.monotonic() - started
        client.close()
    assert elapsed < 1.5
    assert len(server.heads) == 1


def test_an_abandoned_request_keeps_its_host_slot_until_it_ends() -> None:
    with serve_raw(stall(1.5, then=b"<html>late</html>")) as server:
        http = settings(per_host=1)
        flag = cancel_after(0.3)
        client = fetcher(http, cancel=flag.is_set)
        with pytest.raises(Interrupted):
            client.get(server.url)
        flag.clear()
        started = time.monotonic()
        result = client.get(server.url)  # waits for the slot the abandoned request holds
        elapsed = time.monotonic() - started
        client.close()
    assert result.body == b"<html>late</html>"
    assert server.peak == 1  # never two requests in flight to the host
    assert elapsed > 1.0


# -- lettermon run stops within 10 seconds ----------------------------------------------------

def polls(database: Path) -> list[tuple[Any, ...]]:
    try:
        with sqlite3.connect(database) as db:
            return db.execute("SELECT outcome FROM polls").fetchall()
    except sqlite3.OperationalError:
        return []


@pytest.fixture(params=["drip", "stall", "retry_wait"])
def hostile(request: pytest.FixtureRequest) -> Iterator[tuple[str, Any, dict[str, str]]]:
    behaviours = {
        "drip": (drip(every=0.3, for_at_most=40), {"LETTERMON_HTTP__TIMEOUT": "5s"}),
        "stall": (stall(40), {"LETTERMON_HTTP__TIMEOUT": "30s"}),
        "retry_wait": (busy_then_ok("30"), {"LETTERMON_HTTP__RETRY_BUDGET": "60s",
                                            "LETTERMON_HTTP__DEADLINE": "90s"}),
    }
    respond, variables = behaviours[request.param]
    with serve_raw(respond) as server:
        yield request.param, server, variables


@pytest.mark.slow
def test_sigterm_stops_run_within_10_s_mid_request(
        hostile: tuple[str, Any, dict[str, str]], tmp_path: Path) -> None:
    name, server, variables = hostile
    database = tmp_path / "lettermon.sqlite3"
    cfg = write_config(tmp_path / "lettermon.toml", server.url, database=database,
                       letter_extra='interval = "1h"')
    worker = subprocess.Popen([LETTERMON, "run", "--config", str(cfg)], env=env(**variables),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while not server.heads and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.heads, "the worker never asked for the page"
        time.sleep(0.5)  # in the middle of the answer, or of the wait before a retry
        stopping = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        _, err = worker.communicate(timeout=15)
        took = time.monotonic() - stopping
    finally:
        worker.kill()
    print(f"{name}: SIGTERM to exit {took:.2f}s")
    assert worker.returncode == 0, err
    assert took < 10
    assert "stopped by shutdown" in err
    assert polls(database) == []  # nothing half-written
    with sqlite3.connect(database) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
