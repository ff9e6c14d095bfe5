"""Run ``lettermon ARGS`` with CPU timers around each stage of a poll.

``_timed_check.py OUT.json ARGS``: wraps a few methods with ``time.process_time``
accumulators (cheap, unlike cProfile), runs the CLI, and writes
{stage: [calls, cpu seconds]} to OUT.json. Stages nest (parse includes the rows).
"""

from __future__ import annotations

import functools
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

TOTALS: dict[str, list[float]] = {}


def timed(owner: Any, name: str, stage: str) -> None:
    original: Callable[..., Any] = getattr(owner, name)
    slot = TOTALS.setdefault(stage, [0, 0.0])

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.process_time()
        try:
            return original(*args, **kwargs)
        finally:
            slot[0] += 1
            slot[1] += time.process_time() - started
    setattr(owner, name, wrapper)


def main() -> None:
    out, cli_args = sys.argv[1], sys.argv[2:]
    from lettermon.cli import main as lettermon_main
    from lettermon.store.pages import Pages
    from lettermon.store.signatories import Signatories
    from lettermon.watch import crawl, fetch, poll
    from lettermon.watch.sources import pdb

    timed(poll.Poller, "poll", "whole poll")
    timed(fetch.Fetcher, "get", "HTTP (Fetcher.get)")
    timed(pdb.PdbAdapter, "parse", "parse (PdbAdapter.parse)")
    timed(pdb, "_read_rows", "  rows (_read_rows)")
    timed(Signatories, "stage", "stage rows (json + insert)")
    timed(Signatories, "reconcile", "reconcile (SQL)")
    timed(Pages, "keep", "keep page (hash + zlib + insert)")
    timed(crawl, "drop_shifted", "drop_shifted")
    started = time.process_time()
    code: Any = 0
    try:
        lettermon_main(cli_args)
    except SystemExit as exc:
        code = exc.code
    TOTALS["CLI run after imports"] = [1, time.process_time() - started]
    Path(out).write_text(json.dumps(TOTALS))
    sys.exit(code)


if __name__ == "__main__":
    main()
