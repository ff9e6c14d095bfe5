"""CPU time per page of a backfill: a first ``lettermon check`` of a big letter.

The letter site runs in its own process (``serve_letter.py``) so that only lettermon's
CPU is counted: the check runs as a child process and its user + system time is read
with ``wait4``. Figures:

* CPU per page = CPU(backfill) / pages read            goal: under 6 ms
* start-up     = CPU of a check of the unchanged letter (one 304), median of 5
* marginal     = (CPU(backfill) - start-up) / pages read

``--profile`` repeats the backfill on a fresh database under cProfile and prints the top
15 functions by cumulative time, then the time per page spent in each stage.

Exit status 1 if CPU per page is 6 ms or more.
"""

from __future__ import annotations

import argparse
import json
import pstats
import statistics
import sys
import tempfile
from pathlib import Path

import _harness as h

GOAL_MS = 6.0

# (stage, pstats key suffix (file ending, function name)): cumulative time is reported
STAGES: list[tuple[str, tuple[str, str]]] = [
    ("whole poll (Poller.poll)", ("lettermon/watch/poll.py", "poll")),
    ("HTTP: Fetcher.get (httpx)", ("lettermon/watch/fetch.py", "get")),
    ("parse: PdbAdapter.parse", ("lettermon/watch/sources/pdb.py", "parse")),
    ("  own time, incl. lexbor tree build", ("lettermon/watch/sources/pdb.py", "parse")),
    ("  _read_rows (cells)", ("lettermon/watch/sources/pdb.py", "_read_rows")),
    ("  Row.of / fingerprint", ("lettermon/models.py", "fingerprint")),
    ("  _Pagination.read", ("lettermon/watch/sources/pdb.py", "read")),
    ("  page_title", ("lettermon/watch/sources/html.py", "page_title")),
    ("stage rows (json + insert)", ("lettermon/store/signatories.py", "stage")),
    ("  encode_fields (json)", ("lettermon/store/signatories.py", "encode_fields")),
    ("reconcile (SQL)", ("lettermon/store/signatories.py", "reconcile")),
    ("keep page (blake2b+zlib+insert)", ("lettermon/store/pages.py", "keep")),
    ("  zlib.compress", ("~", "<built-in method zlib.compress>")),
    ("COMMIT", ("lettermon/store/db.py", "transaction")),
]


def backfill(server: h.ServerProcess, workdir: Path, extra: str) -> tuple[h.Measured, int]:
    config = h.write_config(workdir / "lettermon.toml", server.url,
                            database=workdir / "lettermon.sqlite3", letter_extra=extra)
    run = h.run_measured(h.lettermon_cmd("check", "--config", str(config), "--format", "json"))
    if run.returncode != 0:
        raise RuntimeError(f"backfill failed ({run.returncode}): {run.stderr}{run.stdout}")
    report = run.json()[0]
    return run, int(report["pages"])


def unchanged(workdir: Path, runs: int) -> list[h.Measured]:
    config = workdir / "lettermon.toml"
    out = []
    for _ in range(runs):
        run = h.run_measured(h.lettermon_cmd("check", "--config", str(config), "--format",
                                             "json"))
        if run.returncode != 0 or run.json()[0]["outcome"] != "unchanged":
            raise RuntimeError(f"unchanged check failed: {run.stderr}{run.stdout}")
        out.append(run)
    return out


def profile(server: h.ServerProcess, extra: str, top: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        config = h.write_config(workdir / "lettermon.toml", server.url,
                                database=workdir / "lettermon.sqlite3", letter_extra=extra)
        out = workdir / "check.prof"
        run = h.run_measured([sys.executable, str(h.BENCH / "_profile_check.py"), str(out),
                              "check", "--config", str(config), "--format", "json"])
        if run.returncode != 0:
            raise RuntimeError(f"profiled backfill failed: {run.stderr}")
        pages = int(run.json()[0]["pages"])
        stats = pstats.Stats(str(out))
        print(f"\ncProfile of the backfill ({pages} pages; profiling slows it "
              f"{run.cpu / max(pages, 1) * 1000:.1f} ms CPU per page): "
              f"top {top} by cumulative time\n")
        stats.sort_stats("cumulative").print_stats(top)
        print(f"Top {top} by own (total) time\n")
        stats.sort_stats("tottime").print_stats(top)
        table = stats.stats  # type: ignore[attr-defined]
        rows = []
        for label, (suffix, name) in STAGES:
            hits = [(cc, nc, tt, ct) for (file, _line, func), (cc, nc, tt, ct, _callers)
                    in table.items() if func == name and file.endswith(suffix)]
            if not hits:  # a function renamed or moved: say so rather than show nothing
                rows.append([label, "not called", "-", f"({suffix}:{name}?)"])
                continue
            calls = sum(hit[1] for hit in hits)
            # lexbor's parser is a C type: its build is counted in parse's own time
            own = label.lstrip().startswith("own time")
            cumulative = sum(hit[2] if own else hit[3] for hit in hits)
            rows.append([label, calls, f"{cumulative:.3f}",
                         f"{cumulative / pages * 1000:.2f}"])
        print("Where the time goes (cumulative seconds under cProfile, which inflates "
              "small calls; stages nest)\n")
        h.print_table(["stage", "calls", "seconds", "ms/page"], rows)


def stages(server: h.ServerProcess, extra: str) -> None:
    """CPU per stage of one more backfill, from cheap ``process_time`` timers."""
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        config = h.write_config(workdir / "lettermon.toml", server.url,
                                database=workdir / "lettermon.sqlite3", letter_extra=extra)
        out = workdir / "stages.json"
        run = h.run_measured([sys.executable, str(h.BENCH / "_timed_check.py"), str(out),
                              "check", "--config", str(config), "--format", "json"])
        if run.returncode != 0:
            raise RuntimeError(f"timed backfill failed: {run.stderr}")
        pages = int(run.json()[0]["pages"])
        totals = json.loads(out.read_text())
    rows: list[list[object]] = [
        [name, int(calls), f"{seconds:.2f}", f"{seconds / pages * 1000:.2f}"]
        for name, (calls, seconds) in totals.items()]
    rows.append(["whole process (wait4)", 1, f"{run.cpu:.2f}",
                 f"{run.cpu / pages * 1000:.2f}"])
    print(f"\nCPU by stage of another backfill ({pages} pages; process_time around each "
          "call; stages nest)\n")
    h.print_table(["stage", "calls", "CPU s", "ms/page"], rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signatures", type=int, default=20_000,
                        help="letter size (100 rows a page); default 20000 = 200 pages")
    parser.add_argument("--unchanged-runs", type=int, default=5)
    parser.add_argument("--no-store-pages", action="store_true",
                        help="set store_pages = false (no compressed page copies)")
    parser.add_argument("--profile", action="store_true",
                        help="also print a cProfile breakdown of one backfill")
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--stages", action="store_true",
                        help="also time each stage of a backfill, without cProfile")
    args = parser.parse_args()
    extra = "store_pages = false" if args.no_store_pages else ""

    with h.ServerProcess(args.signatures) as server, tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        run, pages = backfill(server, workdir, extra)
        checks = unchanged(workdir, args.unchanged_runs)
        startup = statistics.median(c.cpu for c in checks)
        per_page = run.cpu / pages * 1000
        marginal = (run.cpu - startup) / pages * 1000
        ok = per_page < GOAL_MS
        print(f"Backfill CPU, {args.signatures:,} signatures, {pages} pages"
              f"{', store_pages = false' if extra else ''} (server in a separate process)\n")
        h.print_table(["figure", "value", "goal", "result"], [
            ["backfill wall time", f"{run.wall:.2f} s", "", ""],
            ["backfill CPU (user + sys)", f"{run.cpu:.2f} s "
             f"({run.user:.2f} + {run.sys:.2f})", "", ""],
            ["CPU per page", f"{per_page:.2f} ms", f"< {GOAL_MS:g} ms", h.verdict(ok)],
            ["start-up CPU (unchanged check, median)",
             f"{startup * 1000:.0f} ms", "", ""],
            ["  range over runs", f"{min(c.cpu for c in checks) * 1000:.0f}-"
             f"{max(c.cpu for c in checks) * 1000:.0f} ms", "", ""],
            ["marginal CPU per page", f"{marginal:.2f} ms", "", ""],
            ["backfill peak RSS", f"{run.maxrss_kb / 1024:.1f} MB", "", ""],
        ])
        if args.stages:
            stages(server, extra)
        if args.profile:
            profile(server, extra, args.top)
    print(f"\noverall: {h.verdict(ok)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
