"""Requests per poll: how many pages one ``lettermon check`` asks the letter's site for.

Goals (479-signature letter, newest first, 100 rows a page):

* nothing changed: 1 request, answered 304 when the site sends validators (ETag);
  with validators off still 1 request (a 200 whose content is unchanged);
* 23 signatures added: 1 request (they all sit on page 1 with known rows after them);
* 250 signatures added: 3 requests (pages 1-3; page 3 shows the first known row).

An oldest-first letter is measured too, without a goal: its new rows sit on the last
pages, so lettermon reads page 1 (for the count) and then the last pages backward.

Each check is ``lettermon check --format json`` in a subprocess; the requests are counted
from the local site's own log. Exit status 1 if a goal is missed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import _harness as h

START = 479


def page_of(path: str) -> str:
    query = parse_qs(urlsplit(path).query)
    return query.get("listpage", ["1"])[0]


class Letter:
    """One letter site in this process and a fresh config + database for it."""

    def __init__(self, workdir: Path, site: h.LetterSite, letter_extra: str = "") -> None:
        self.site = site
        self.config = h.write_config(workdir / "lettermon.toml", site.url,
                                     database=workdir / "lettermon.sqlite3",
                                     letter_extra=letter_extra)
        self._seed = 1000

    def check(self) -> tuple[dict[str, object], list[tuple[str, int]]]:
        self.site.requests.clear()
        run = h.run_measured(h.lettermon_cmd("check", "--config", str(self.config),
                                             "--format", "json"))
        if run.returncode not in (0, 1) or not run.stdout.strip():
            raise RuntimeError(f"lettermon check failed ({run.returncode}): {run.stderr}")
        return run.json()[0], list(self.site.requests)

    def sign(self, n: int) -> None:
        self._seed += 1
        self.site.sign(h.widget.make_signatories(n, seed=self._seed))


def scenario(label: str, letter: Letter, steps: list[tuple[str, int, int | None, int | None]],
             rows: list[list[object]]) -> bool:
    """Run ``steps`` (name, signatures to add, goal requests, goal status) in order."""
    ok = True
    for name, add, goal, goal_status in steps:
        if add:
            letter.sign(add)
        report, log = letter.check()
        statuses = sorted({status for _, status in log})
        pages = ",".join(page_of(path) for path, _ in log)
        met = True
        if goal is not None:
            met = len(log) == goal and (goal_status is None or statuses == [goal_status])
            met = met and report["outcome"] in ("ok", "unchanged")
            if add:
                met = met and report["added"] == add
        ok = ok and met
        rows.append([label, name, report["outcome"], report["added"], len(log),
                     "/".join(map(str, statuses)), pages,
                     "-" if goal is None else f"{goal}" + (f" ({goal_status})" if goal_status
                                                          else ""),
                     "-" if goal is None else h.verdict(met)])
    return ok


NEWEST_STEPS: list[tuple[str, int, int | None, int | None]] = [
    ("first check (backfill)", 0, None, None),
    ("nothing changed", 0, 1, 304),
    ("+23 signatures", 23, 1, None),
    ("+250 signatures", 250, 3, None),
    ("nothing changed", 0, 1, 304),
]
NO_VALIDATOR_STEPS: list[tuple[str, int, int | None, int | None]] = [
    ("first check (backfill)", 0, None, None),
    ("nothing changed", 0, 1, 200),
    ("+23 signatures", 23, 1, 200),
    ("+250 signatures", 250, 3, 200),
]
OLDEST_STEPS: list[tuple[str, int, int | None, int | None]] = [
    ("first check (backfill)", 0, None, None),
    ("nothing changed", 0, None, None),
    ("+23 signatures", 23, None, None),
    ("+250 signatures", 250, None, None),
    ("nothing changed", 0, None, None),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    rows: list[list[object]] = []
    ok = True
    cases = [
        ("newest-first, ETag", dict(validators=True, order="newest_first"), "", NEWEST_STEPS),
        ("newest-first, no ETag", dict(validators=False, order="newest_first"), "",
         NO_VALIDATOR_STEPS),
        ("oldest-first (auto)", dict(validators=True, order="oldest_first"), "", OLDEST_STEPS),
        ("oldest-first (configured)", dict(validators=True, order="oldest_first"),
         'order = "oldest_first"', OLDEST_STEPS),
    ]
    for label, site_args, extra, steps in cases:
        site = h.LetterSite(h.widget.make_signatories(START, seed=1), **site_args)  # type: ignore[arg-type]
        with tempfile.TemporaryDirectory() as tmp, h.serve(site):
            ok = scenario(label, Letter(Path(tmp), site, extra), steps, rows) and ok
    print(f"Requests per poll, {START}-signature letter, 100 rows a page\n")
    h.print_table(["letter", "poll", "outcome", "added", "requests", "status", "pages read",
                   "goal", "result"], rows)
    print(f"\noverall: {h.verdict(ok)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
