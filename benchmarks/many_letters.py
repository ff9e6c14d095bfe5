"""Many letters, several workers: CPU per unchanged poll, polls per second, lateness.

A local letter site (in its own process, so its work is never counted) serves one small
letter under 1,000 addresses (``?letter=N``); each answers a conditional GET with a 304
once polled. For each scenario, on a fresh database:

1. ``lettermon run`` workers start on a config naming every letter, all due at once.
2. Warm-up: every letter's first poll is a full fetch; the scenario waits until each
   letter has been polled once and then one interval more, so that the backlog of the
   start is gone and the letters are spread over the interval.
3. The measured window (``--duration``): the workers' CPU time (user + system, all
   threads, read from ``/proc``) is taken at its start and end; the polls that started
   inside it give polls per second, CPU milliseconds per poll and lateness (how long after
   its due time a poll started: ``polls.at - polls.due_at``) at p50, p95 and p99.

"first polls" is how long the warm-up's full fetches of every letter took: the worker's
rate when it has a backlog. All letters start due at once, so their polls stay bunched for
a while (each letter keeps its rhythm; the jitter spreads them slowly): the measured
window sees bursts, not an even rate.

Scenarios: one worker on PostgreSQL, three workers on PostgreSQL, one worker on SQLite
(which polls one letter at a time). PostgreSQL is the server at ``--pg`` (a database is
created for each scenario and dropped after it); its scenarios are skipped with a message
when it cannot be reached.

Figures, not asserts: exit status 0 unless a scenario failed to run.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import _harness as h

PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
TICK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Scenario:
    name: str
    dialect: str  # sqlite or postgresql
    workers: int


@dataclass(frozen=True)
class Figures:
    scenario: Scenario
    warmup: float
    polls: int
    window: float
    cpu: float
    unchanged: int
    lateness: list[float]

    def row(self) -> list[Any]:
        late = sorted(self.lateness) or [float("nan")]
        return [self.scenario.name, f"{self.warmup:.0f} s", self.polls,
                f"{self.polls / self.window:.1f}",
                f"{self.cpu / max(self.polls, 1) * 1000:.1f} ms",
                f"{self.unchanged / max(self.polls, 1):.0%}",
                f"{percentile(late, 50):.2f} s", f"{percentile(late, 95):.2f} s",
                f"{percentile(late, 99):.2f} s"]


def percentile(values: list[float], p: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def cpu_seconds(pid: int) -> float:
    """User + system time of a process and all its threads so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# -- databases -------------------------------------------------------------------------------
class SqliteDb:
    def __init__(self, workdir: Path) -> None:
        self.path = workdir / "lettermon.sqlite3"
        self.url = f"sqlite:///{self.path}"

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        if not self.path.exists():
            return []
        with closing(sqlite3.connect(self.path, timeout=30)) as connection:
            try:
                return list(connection.execute(sql))
            except sqlite3.OperationalError:
                return []  # the schema is not there yet


class PostgresDb:
    def __init__(self, server: str) -> None:
        import psycopg

        self._psycopg = psycopg
        self.name = f"lettermon_bench_{secrets.token_hex(4)}"
        self._server = server
        with psycopg.connect(f"{server}/test", autocommit=True, connect_timeout=3) as admin:
            admin.execute(f"CREATE DATABASE {self.name}")
        self.url = f"{server}/{self.name}"

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        with self._psycopg.connect(self.url) as connection:
            try:
                return list(connection.execute(sql))
            except self._psycopg.errors.UndefinedTable:
                return []

    def drop(self) -> None:
        with self._psycopg.connect(f"{self._server}/test", autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")


def postgres_reachable(server: str) -> str | None:
    """None when a database can be created there, else why not."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (pip install '.[postgres]')"
    try:
        with psycopg.connect(f"{server}/test", autocommit=True, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return f"no PostgreSQL server at {server} ({str(exc).strip().splitlines()[0]})"


# -- one scenario ----------------------------------------------------------------------------
def write_config(path: Path, url: str, database_url: str, letters: int, interval: str,
                 concurrency: int) -> Path:
    parts = [f'database_url = "{database_url}"\n',
             "[http]\nretries = 1\ntimeout = \"5s\"\n"
             f"per_host = {min(concurrency, 16)}\n",
             f"[worker]\nconcurrency = {concurrency}\n"]
    parts += [f'[[letters]]\nname = "letter-{i:04d}"\nurl = "{url}?letter={i}"\n'
              f'interval = "{interval}"\n' for i in range(letters)]
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def polled_letters(db: SqliteDb | PostgresDb) -> int:
    rows = db.query("SELECT COUNT(DISTINCT letter_id) FROM polls")
    return int(rows[0][0]) if rows else 0


def run_scenario(scenario: Scenario, url: str, args: argparse.Namespace, pg: str
                 ) -> Figures:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        db: SqliteDb | PostgresDb = SqliteDb(workdir) if scenario.dialect == "sqlite" \
            else PostgresDb(pg)
        try:
            config = write_config(workdir / "lettermon.toml", url, db.url, args.letters,
                                  f"{args.interval}s", args.concurrency)
            env = h.clean_env()
            log = (workdir / "workers.log").open("w")
            workers = [subprocess.Popen(h.lettermon_cmd("run", "--config", str(config)),
                                        env=env, cwd=workdir, stdout=subprocess.DEVNULL,
                                        stderr=log)
                       for _ in range(scenario.workers)]
            try:
                started = time.monotonic()
                while polled_letters(db) < args.letters:
                    if any(w.poll() is not None for w in workers):
                        tail = (workdir / "workers.log").read_text()[-2000:]
                        raise RuntimeError(f"a worker exited during the warm-up:\n{tail}")
                    if time.monotonic() - started > args.warmup_limit:
                        raise RuntimeError(f"only {polled_letters(db)} of {args.letters} "
                                           f"letters polled after {args.warmup_limit} s")
                    time.sleep(1)
                warmup = time.monotonic() - started
                time.sleep(args.interval)  # the start's backlog drains; letters spread out
                begin = datetime.now(UTC)
                cpu_begin = sum(cpu_seconds(w.pid) for w in workers)
                t0 = time.monotonic()
                time.sleep(args.duration)
                cpu_end = sum(cpu_seconds(w.pid) for w in workers)
                window = time.monotonic() - t0
                end = datetime.now(UTC)
            finally:
                for worker in workers:
                    worker.send_signal(signal.SIGTERM)
                for worker in workers:
                    try:
                        worker.wait(timeout=60)
                    except subprocess.TimeoutExpired:
                        worker.kill()
                log.close()
            rows = db.query("SELECT at, due_at, outcome FROM polls WHERE due_at IS NOT NULL")
            inside = [(parse_time(at), parse_time(due), outcome) for at, due, outcome in rows
                      if begin <= parse_time(at) < end]
            print(f"  {scenario.name}: warm-up {warmup:.0f} s, measured {window:.0f} s",
                  file=sys.stderr)
            return Figures(scenario, warmup, len(inside), window, cpu_end - cpu_begin,
                           sum(1 for _, _, outcome in inside if outcome == "unchanged"),
                           [max(0.0, (at - due).total_seconds()) for at, due, _ in inside])
        finally:
            if isinstance(db, PostgresDb):
                db.drop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--letters", type=int, default=1000)
    parser.add_argument("--signatures", type=int, default=50,
                        help="signatures of the letter (one page at the default)")
    parser.add_argument("--interval", type=int, default=60, help="seconds between polls")
    parser.add_argument("--duration", type=int, default=120, help="measured seconds")
    parser.add_argument("--concurrency", type=int, default=4, help="[worker] concurrency")
    parser.add_argument("--warmup-limit", type=int, default=900)
    parser.add_argument("--pg", default=PG_SERVER, help="PostgreSQL server (no database)")
    parser.add_argument("--only", choices=("pg1", "pg3", "sqlite"), action="append")
    args = parser.parse_args()

    scenarios = [Scenario("PostgreSQL, 1 worker", "postgresql", 1),
                 Scenario("PostgreSQL, 3 workers", "postgresql", 3),
                 Scenario("SQLite, 1 worker", "sqlite", 1)]
    keys = dict(zip(("pg1", "pg3", "sqlite"), scenarios, strict=True))
    if args.only:
        scenarios = [keys[key] for key in args.only]
    why_not = postgres_reachable(args.pg)
    results: list[Figures] = []
    failed = False
    with h.ServerProcess(args.signatures) as server:
        for scenario in scenarios:
            if scenario.dialect == "postgresql" and why_not:
                print(f"skipped {scenario.name}: {why_not}", file=sys.stderr)
                continue
            try:
                results.append(run_scenario(scenario, server.url, args, args.pg))
            except RuntimeError as exc:
                print(f"FAILED {scenario.name}: {exc}", file=sys.stderr)
                failed = True

    print(f"{args.letters:,} letters of {args.signatures} signatures, every {args.interval} s "
          f"(due {args.letters / args.interval:.1f} polls/s), measured over {args.duration} s; "
          f"[worker] concurrency = {args.concurrency}\n")
    h.print_table(["scenario", "first polls", "polls", "polls/s", "CPU per poll", "unchanged",
                   "lateness p50", "p95", "p99"], [f.row() for f in results])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
