"""Run every benchmark in turn, print each one's table, and sum up pass/fail.

    python benchmarks/run_all.py            # all, with default sizes
    python benchmarks/run_all.py --quick    # smaller letters, fewer runs (a smoke test)

Extra arguments per benchmark are not forwarded; run a benchmark on its own for those.
Exit status 1 if any benchmark missed its goal.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

FULL: list[tuple[str, list[str]]] = [
    ("requests_per_poll.py", []),
    ("db_growth.py", []),
    ("cold_check.py", []),
    ("backfill_cpu.py", ["--profile"]),
    ("backfill_memory.py", ["--max-seconds", "900"]),
    ("export_memory.py", []),
    ("copy_db.py", []),
]
QUICK: list[tuple[str, list[str]]] = [
    ("requests_per_poll.py", []),
    ("db_growth.py", ["--polls", "50"]),
    ("cold_check.py", ["--runs", "5"]),
    ("backfill_cpu.py", ["--signatures", "2000", "--unchanged-runs", "3"]),
    ("backfill_memory.py", ["--sizes", "1000", "5000"]),
    ("export_memory.py", ["--sizes", "1000", "5000"]),
    ("copy_db.py", ["--sizes", "1000", "5000"]),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("only", nargs="*", help="benchmark file names to run (default: all)")
    args = parser.parse_args()
    plan = [(name, extra) for name, extra in (QUICK if args.quick else FULL)
            if not args.only or name in args.only or name.removesuffix(".py") in args.only]
    results = []
    for name, extra in plan:
        print(f"\n=== {name} {' '.join(extra)}".rstrip(), flush=True)
        started = time.perf_counter()
        code = subprocess.run([sys.executable, str(HERE / name), *extra], check=False).returncode
        results.append((name, code, time.perf_counter() - started))
    print("\n=== summary")
    for name, code, seconds in results:
        print(f"{name:24} {'pass' if code == 0 else f'FAIL (exit {code})':>16} {seconds:8.0f} s")
    return 0 if all(code == 0 for _, code, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
