"""Requests per poll: how many pages one ``lettermon check`` asks the letter's site for.

Goals (479-signature letter, newest first, 100 rows a page):

* nothing changed: 1 request, answered 304 when the site sends validators (ETag);
  with validators off still 1 request (a 200 whose content is unchanged);
* 23 signatures added: 1 request (they all sit on page 1 with known rows after them);
* 250 signatures added: 3 requests (pages 1-3; page 3 shows the first known row).

An oldest-first letter is measured too, without a goal: its new rows sit on the last
pages, so lettermon reads page 1 (for the count) and then the last pages backward.

Count-only letters (a page showing a number, read with ``[letters.css]`` without rows; a
UK Parliament petition's JSON, found by ``auto``; a JSON API read with ``[letters.json]``)
have the same goals as a widget letter whose new rows all sit on page 1: 1 request per
poll, a 304 when nothing changed and the site sends validators.

Each check is ``lettermon check --format json`` in a subprocess; the requests are counted
from the local site's own log. Exit status 1 if a goal is missed.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import _harness as h

from petition_site import HTML, JSON, PetitionSite, serve_petitions
from uk_petitions import Petition

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


class CountOnly:
    """A count-only document (a page or JSON) on a local site, and a config for it."""

    def __init__(self, workdir: Path, site: PetitionSite, path: str, render: Any,
                 content_type: str, letter_extra: str) -> None:
        self.site = site
        self.path = path
        site.serve_doc(path, render, content_type)
        self.config = h.write_config(workdir / "lettermon.toml", site.url(path),
                                     database=workdir / "lettermon.sqlite3",
                                     letter_extra=letter_extra)

    def check(self) -> tuple[dict[str, object], list[tuple[str, int]]]:
        self.site.requests.clear()
        run = h.run_measured(h.lettermon_cmd("check", "--config", str(self.config),
                                             "--format", "json"))
        if run.returncode not in (0, 1) or not run.stdout.strip():
            raise RuntimeError(f"lettermon check failed ({run.returncode}): {run.stderr}")
        return run.json()[0], list(self.site.requests)


COUNT_ONLY_STEPS: list[tuple[str, int, int | None, int | None]] = [
    ("first check", 0, 1, None),
    ("nothing changed", 0, 1, 304),
    ("+250 signatures", 250, 1, 200),
    ("nothing changed", 0, 1, 304),
]


def count_only_cases(rows: list[list[object]]) -> bool:
    petition = Petition(count=START)
    page = {"count": START}

    def html() -> bytes:
        return (f"<html><body><h1>Save the river</h1><p class='tally'><strong>"
                f"{page['count']:,}</strong> people have signed</p></body></html>").encode()

    def api() -> bytes:
        return json.dumps({"campaign": {"total": page["count"]}}).encode()

    def grow(n: int) -> None:
        page["count"] += n
        petition.count += n

    cases = [
        ("count-only page (css)", "/petition", html, HTML,
         'adapter = "css"\n[letters.css]\ncount = ".tally strong"\n', True),
        ("count-only page (css), no ETag", "/petition", html, HTML,
         'adapter = "css"\n[letters.css]\ncount = ".tally strong"\n', False),
        ("UK petition JSON (auto)", "/petitions/700123.json", petition.body, JSON, "", True),
        ("JSON API (json)", "/api/campaign", api, JSON,
         'adapter = "json"\n[letters.json]\ncount = "campaign.total"\n', True),
    ]
    ok = True
    for label, path, render, content_type, extra, validators in cases:
        page["count"], petition.count = START, START
        site = PetitionSite(validators=validators)
        with tempfile.TemporaryDirectory() as tmp, serve_petitions(site):
            letter = CountOnly(Path(tmp), site, path, render, content_type, extra)
            for name, add, goal, goal_status in COUNT_ONLY_STEPS:
                if add:
                    grow(add)
                report, log = letter.check()
                statuses = sorted({status for _, status in log})
                wanted = 200 if goal_status == 304 and not validators else goal_status
                met = (len(log) == goal and (wanted is None or statuses == [wanted])
                       and report["outcome"] in ("ok", "unchanged")
                       and report["count"] == page["count"] == petition.count)
                ok = ok and met
                rows.append([label, name, report["outcome"], report["count"], len(log),
                             "/".join(map(str, statuses)),
                             f"{goal}" + (f" ({wanted})" if wanted else ""),
                             h.verdict(met)])
    return ok


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
    count_rows: list[list[object]] = []
    ok = count_only_cases(count_rows) and ok
    print(f"\nCount-only letters, {START} signatures\n")
    h.print_table(["letter", "poll", "outcome", "count", "requests", "status", "goal",
                   "result"], count_rows)
    print(f"\noverall: {h.verdict(ok)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
