"""Time and peak memory of ``lettermon copy-db``, SQLite → PostgreSQL → SQLite.

A letter's history of N signatories (one poll, pages of 2 KB) is written straight through
the store by a separate process, then copied by ``lettermon copy-db`` children whose own
CPU and peak RSS are read with ``wait4``. Goals: under 120 MB at 100,000 signatories, and
flat: no more than 10 MB more at the largest size than at the smallest, whichever way the
copy goes. The PostgreSQL legs need the server on 127.0.0.1:5432 (user postgres, trust
auth) and are left out, saying so, without it.

Exit status 1 if a goal is missed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import _harness as h

GOAL_MB = 120.0
FLAT_MB = 10.0
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
NOW = "2026-01-01T00:00:00.000000Z"


def build(url: str, signatories: int) -> None:
    """Run in a child process (see ``--build``), so that this one stays small: Linux
    keeps a process's peak RSS across exec, and the measured children start from here."""
    from lettermon.models import Row
    from lettermon.store import open_store

    with open_store(url, NOW) as store:
        state = store.letters.ensure("bench", "http://127.0.0.1/letter", NOW)
        with store.transaction():
            poll = store.polls.start(state.id, NOW)
            for start in range(0, signatories, 5_000):
                rows = [Row.of((("first_name", f"Ada{i}"), ("last_name", f"Lovelace {i}"),
                                ("title", "Professor of Things and Stuff"),
                                ("institution", f"University number {i % 977}")))
                        for i in range(start, min(start + 5_000, signatories))]
                store.signatories.add(state.id, rows, NOW, poll)
                store.pages.keep(poll, start // 5_000 + 1, os.urandom(2_000))


@contextlib.contextmanager
def postgres() -> Iterator[str | None]:
    """A fresh database on the local server (None without one), dropped at the end."""
    try:
        import psycopg

        admin = psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True, connect_timeout=3)
    except Exception as exc:  # noqa: BLE001 - any failure means: no PostgreSQL legs
        print(f"(no PostgreSQL on 127.0.0.1:5432, its legs are left out: {exc})")
        yield None
        return
    name = f"lettermon_bench_{uuid.uuid4().hex[:10]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--build", nargs=2, metavar=("URL", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build:
        build(args.build[0], int(args.build[1]))
        return 0
    rows, peaks = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in sorted(args.sizes):
            folder = Path(tmp) / str(size)
            source = f"sqlite:///{folder / 'source.sqlite3'}"
            subprocess.run([sys.executable, __file__, "--build", source, str(size)],
                           check=True, env=h.clean_env())
            with postgres() as pg:
                legs = [("SQLite → SQLite", source, f"sqlite:///{folder / 'copy.sqlite3'}")]
                if pg is not None:
                    legs += [("SQLite → PostgreSQL", source, pg),
                             ("PostgreSQL → SQLite", pg, f"sqlite:///{folder / 'back.sqlite3'}")]
                for leg, src, dst in legs:
                    run = h.run_measured(h.lettermon_cmd("copy-db", "--from", src, "--to", dst))
                    if run.returncode != 0 or "fingerprints match" not in run.stdout:
                        print(run.stdout, run.stderr)
                        return 1
                    copied = run.stdout.splitlines()[-1].split(" rows")[0].split()[-1]
                    peaks[leg, size] = run.maxrss_kb / 1024
                    rows.append([leg, f"{size:,}", copied, f"{run.wall:.2f} s",
                                 f"{run.cpu:.2f} s", f"{run.maxrss_kb / 1024:.1f} MB"])
    h.print_table(["copy", "signatories", "rows", "wall", "CPU", "peak RSS"], rows)
    smallest, largest = min(args.sizes), max(args.sizes)
    ok = True
    print()
    for leg in dict.fromkeys(leg for leg, _ in peaks):
        top, growth = peaks[leg, largest], peaks[leg, largest] - peaks[leg, smallest]
        fits = top < GOAL_MB and growth <= FLAT_MB
        ok = ok and fits
        print(f"{leg}: peak {top:.1f} MB at {largest:,} (goal < {GOAL_MB:.0f}), "
              f"{growth:+.1f} MB from {smallest:,} (goal ≤ {FLAT_MB:.0f}): {h.verdict(fits)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
