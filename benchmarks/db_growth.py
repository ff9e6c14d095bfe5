"""Database growth per unchanged poll.

After a backfill, 200 polls of the unchanged letter run in this process (the same
``open_app`` → ``App.poll`` path as ``lettermon check``). The database's used size is
``(page_count - freelist_count) * page_size`` after ``PRAGMA wal_checkpoint(TRUNCATE)``,
measured before and after the 200 polls. Goal: under 200 bytes per unchanged poll, both
when the site sends validators (each poll a 304) and when it does not (each poll a 200
with the same content).

Exit status 1 if a goal is missed.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
from collections import Counter
from pathlib import Path

import _harness as h

GOAL_BYTES = 200


def used_bytes(path: Path) -> tuple[int, int, int]:
    """(used bytes, file bytes, rows in polls) after folding the WAL into the file."""
    conn = sqlite3.connect(str(path))
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        free = conn.execute("PRAGMA freelist_count").fetchone()[0]
        polls = conn.execute("SELECT COUNT(*) FROM polls").fetchone()[0]
    finally:
        conn.close()
    return (pages - free) * page_size, path.stat().st_size, polls


def run(validators: bool, signatures: int, polls: int) -> tuple[list[object], bool]:
    from lettermon.app import Wiring, open_app

    site = h.LetterSite(h.widget.make_signatories(signatures, seed=1), validators=validators)
    with tempfile.TemporaryDirectory() as tmp, h.serve(site):
        workdir = Path(tmp)
        database = workdir / "lettermon.sqlite3"
        config = h.write_config(workdir / "lettermon.toml", site.url, database=database)
        settings = Wiring().load(config)
        letter = settings.letters[0]
        with open_app(settings) as app:
            first = app.poll(letter)
        if first.outcome != "ok":
            raise RuntimeError(f"backfill failed: {first.error}")
        before, _, polls_before = used_bytes(database)
        outcomes: Counter[tuple[str, int | None]] = Counter()
        with open_app(settings) as app:
            for _ in range(polls):
                report = app.poll(letter)
                outcomes[(report.outcome, report.http_status)] += 1
        after, file_size, polls_after = used_bytes(database)
    per_poll = (after - before) / polls
    expected = ("unchanged", 304 if validators else 200)
    ok = per_poll < GOAL_BYTES and outcomes == Counter({expected: polls})
    seen = ", ".join(f"{n}x {o} {s}" for (o, s), n in sorted(outcomes.items()))
    return [("ETag (304)" if validators else "no ETag (200, same content)"), seen,
            f"{before:,}", f"{after:,}", f"{file_size:,}", polls_after - polls_before,
            f"{per_poll:.0f}", f"< {GOAL_BYTES}", h.verdict(ok)], ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signatures", type=int, default=479)
    parser.add_argument("--polls", type=int, default=200)
    args = parser.parse_args()
    os.environ.clear()
    os.environ.update(h.clean_env())
    rows = []
    ok = True
    for validators in (True, False):
        row, good = run(validators, args.signatures, args.polls)
        rows.append(row)
        ok = ok and good
    print(f"Database growth over {args.polls} unchanged polls after a backfill of "
          f"{args.signatures:,} signatures\n(used = (page_count - freelist_count) * page_size "
          "after wal_checkpoint(TRUNCATE))\n")
    h.print_table(["site", "polls", "used before", "used after", "file after", "poll rows",
                   "bytes/poll", "goal", "result"], rows)
    print(f"\noverall: {h.verdict(ok)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
