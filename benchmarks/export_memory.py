"""Peak memory of ``lettermon export``: flat whatever the number of signatories.

For each size, a letter of N signatories is written straight into a fresh SQLite database
(one poll, through lettermon's store), then ``lettermon export NAME`` (CSV and NDJSON, to
/dev/null) and ``lettermon export --sqlite FILE`` run as child processes; each child's
peak RSS is ``ru_maxrss`` from ``wait4``. For comparison, ``lettermon signatories NAME
--format csv``, which collects its rows to find the columns, is measured the same way.
Goal: the export's peak grows by at most 10 MB from the smallest size to the largest.

Exit status 1 if the goal is missed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import _harness as h

from reporting import many_signatories

FLAT_MB = 10.0

COMMANDS = {
    "export csv": ("export", "big", "--format", "csv", "-o", os.devnull),
    "export ndjson": ("export", "big", "--format", "ndjson", "-o", os.devnull),
    "export --sqlite": ("export", "big", "--sqlite", "{tmp}/copy.sqlite3"),
    "signatories --format csv": ("signatories", "big", "--format", "csv"),
}


def measure(size: int) -> dict[str, tuple[float, float]]:
    """(peak RSS in MB, wall seconds) of each command on a letter of ``size``."""
    with tempfile.TemporaryDirectory() as tmp:
        many_signatories(Path(tmp) / "data.sqlite3", datetime.now(UTC), size)
        config = Path(tmp) / "lettermon.toml"
        config.write_text(f'database_url = "sqlite:///{tmp}/data.sqlite3"\n'
                          '[[letters]]\nname = "big"\nurl = "https://big.example/"\n',
                          encoding="utf-8")
        found = {}
        for label, args in COMMANDS.items():
            command = [a.format(tmp=tmp) for a in args]
            run = h.run_measured(h.lettermon_cmd(*command, "--config", str(config)))
            if run.returncode != 0:
                raise RuntimeError(f"{label} failed: {run.stderr}")
            found[label] = (run.maxrss_kb / 1024, run.wall)
        return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args()
    sizes = sorted(args.sizes)
    results = {size: measure(size) for size in sizes}
    rows = []
    ok = True
    for label in COMMANDS:
        peaks = [results[size][label][0] for size in sizes]
        growth = peaks[-1] - peaks[0]
        verdict = "(comparison)" if label.startswith("signatories") else h.verdict(
            growth <= FLAT_MB)
        ok = ok and (label.startswith("signatories") or growth <= FLAT_MB)
        rows.append([label, *(f"{results[size][label][0]:.1f} MB, "
                              f"{results[size][label][1]:.1f} s" for size in sizes),
                     f"{growth:+.1f} MB", verdict])
    print("Peak RSS of a child process (ru_maxrss from wait4), fresh SQLite database\n")
    h.print_table(["command", *(f"{size:,} signatories" for size in sizes), "growth",
                   f"goal <= {FLAT_MB:g} MB"], rows)
    print(f"\noverall: {h.verdict(ok)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
