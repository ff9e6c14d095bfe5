"""Peak memory of a backfill: the first ``lettermon check`` of letters of growing size.

Each backfill runs ``lettermon check`` in a child process against a letter site in
another process; the child's peak RSS is ``ru_maxrss`` from ``wait4`` (the kernel's
VmHWM of that process alone). Goals: under 120 MB at 100,000 signatures, and flat, i.e.
the peak may not grow with the letter's size by more than 10 MB from the smallest to the
largest letter measured.

Exit status 1 if a goal is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _harness as h

GOAL_MB = 120.0
FLAT_MB = 10.0


def vm_hwm_kb(pid: int) -> int:
    """The process's peak RSS so far, from /proc (0 if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def backfill(signatures: int, extra: str, max_seconds: float | None
             ) -> tuple[float, int, float, float, str, int]:
    """(peak MB, pages read, wall s, CPU s, note, signatories added) of one backfill.

    With ``max_seconds``, a backfill still running then is stopped after its peak RSS so
    far is read: the figure is then a lower bound, noted with the pages served by then.
    """
    with h.ServerProcess(signatures) as server, tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        config = h.write_config(workdir / "lettermon.toml", server.url,
                                database=workdir / "lettermon.sqlite3", letter_extra=extra)
        out = workdir / "out.json"
        with out.open("wb") as sink:
            started = time.perf_counter()
            proc = subprocess.Popen(
                h.lettermon_cmd("check", "--config", str(config), "--format", "json"),
                stdout=sink, stderr=subprocess.DEVNULL, env=h.clean_env())
            hwm, note = 0, ""
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                hwm = max(hwm, vm_hwm_kb(proc.pid))
                if max_seconds is not None and time.perf_counter() - started > max_seconds:
                    hwm = max(hwm, vm_hwm_kb(proc.pid))
                    served = len(server.requests())
                    proc.send_signal(signal.SIGTERM)
                    pid, status, usage = os.wait4(proc.pid, 0)
                    note = (f"stopped after {max_seconds:g} s with {served}/"
                            f"{-(-signatures // 100)} pages served: peak so far")
                    break
                time.sleep(0.2)
            wall = time.perf_counter() - started
            proc.returncode = os.waitstatus_to_exitcode(status)
        cpu = usage.ru_utime + usage.ru_stime
        if note:
            return max(hwm, usage.ru_maxrss) / 1024, 0, wall, cpu, note, 0
        if proc.returncode != 0:
            raise RuntimeError(f"backfill of {signatures} failed ({proc.returncode})")
        report = json.loads(out.read_text())[0]
        return usage.ru_maxrss / 1024, int(report["pages"]), wall, cpu, "", int(report["added"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000, 100_000])
    parser.add_argument("--max-seconds", type=float, default=None,
                        help="stop a backfill still running after this long and report "
                             "its peak RSS so far (a lower bound)")
    parser.add_argument("--no-store-pages", action="store_true",
                        help="set store_pages = false (no compressed page copies)")
    args = parser.parse_args()
    extra = "store_pages = false" if args.no_store_pages else ""
    notes: list[str] = []
    rows = []
    peaks = []
    for size in sorted(args.sizes):
        peak, pages, wall, cpu, note, added = backfill(size, extra, args.max_seconds)
        peaks.append(peak)
        ok = peak < GOAL_MB
        rows.append([f"{size:,}", pages or "-", added or "-", f"{wall:.1f} s", f"{cpu:.1f} s",
                     (">= " if note else "") + f"{peak:.1f} MB", f"< {GOAL_MB:g} MB",
                     h.verdict(ok) if ok or not note else "FAIL (lower bound)"])
        print(f"  {size:,} signatures: peak RSS {peak:.1f} MB {note}", file=sys.stderr,
              flush=True)
        if note:
            notes.append(f"{size:,}: {note}")
    growth = peaks[-1] - peaks[0]
    under = all(p < GOAL_MB for p in peaks)
    flat = growth <= FLAT_MB
    print(f"Backfill peak RSS (lettermon check, fresh database"
          f"{', store_pages = false' if extra else ''})\n")
    h.print_table(["signatures", "pages", "added", "wall", "CPU", "peak RSS", "goal",
                   "result"], rows)
    if len(peaks) > 1:
        span = sorted(args.sizes)
        slope = growth / ((span[-1] - span[0]) / 10_000)
        print(f"\ngrowth {span[0]:,} -> {span[-1]:,} signatures: {growth:+.1f} MB "
              f"({slope:+.1f} MB per 10,000 signatures); goal <= {FLAT_MB:g} MB: "
              f"{h.verdict(flat)}")
    for note in notes:
        print(f"note: {note}")
    ok = under and flat
    print(f"\noverall: {h.verdict(ok)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
