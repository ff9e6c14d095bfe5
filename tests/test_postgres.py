"""The same letter history on PostgreSQL as on SQLite, and the run lock on PostgreSQL.

Needs the PostgreSQL server on 127.0.0.1:5432 (trust auth, user postgres, database
``test``); each test gets a database of its own, dropped afterwards.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from lettermon.store import open_database, open_store

import widget
from conftest import write_config
from letter_server import LetterSite, serve

pytestmark = pytest.mark.postgres

NAME = "rekognition"


def _json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def scenario(run: Callable[..., Result], cfg: Path, site: LetterSite
             ) -> tuple[list[str], list[dict[str, Any]], list[dict[str, Any]]]:
    """Backfill, unchanged, +23, +250, a removal, an edit, unchanged; what a user sees."""
    said: list[str] = []

    def check() -> None:
        result = run("check", "--config", str(cfg))
        assert result.exit_code == 0, result.output
        said.append(result.stdout.splitlines()[0])

    check()
    check()
    site.sign(widget.make_signatories(23, seed=2))
    check()
    site.sign(widget.make_signatories(250, seed=3))
    check()
    site.remove(10)
    check()
    site.edit(5, title="Professor Emerita")
    check()
    check()
    history = _json(run("history", NAME, "--config", str(cfg), "--format", "json"))
    people = _json(run("signatories", NAME, "--config", str(cfg), "--format", "json"))
    return said, history, people


def _comparable(history: list[dict[str, Any]], people: list[dict[str, Any]]
                ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Drop what depends on the clock: times and durations."""
    polls = [{k: v for k, v in p.items() if k not in ("at", "duration_ms")} for p in history]
    rows = [{"fields": s["fields"], "fingerprint": s["fingerprint"],
             "removed": s["removed_at"] is not None,
             "seen_again": s["last_seen"] > s["first_seen"]} for s in people]
    return polls, rows


def test_postgres_keeps_the_same_history_as_sqlite(
        pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        run_cli: Callable[..., Result]) -> None:
    runs = {}
    for backend in ("sqlite", "postgresql"):
        with serve(LetterSite(widget.make_signatories(479, seed=1))) as site:
            cfg = write_config(tmp_path / f"{backend}.toml", site.url,
                               database=tmp_path / "data" / "lettermon.sqlite3")
            if backend == "postgresql":
                monkeypatch.setenv("LETTERMON_DATABASE_URL", pg_url)
            runs[backend] = scenario(run_cli, cfg, site)

    said, history, people = runs["postgresql"]
    assert said == [
        f"{NAME}: 479 signatures (first poll: 479 signatories recorded)",
        f"{NAME}: 479 signatures (no change since last poll)",
        f"{NAME}: 502 signatures (+23 since last poll; 23 new)",
        f"{NAME}: 752 signatures (+250 since last poll; 250 new)",
        f"{NAME}: 751 signatures (-1 since last poll; 1 removed)",
        f"{NAME}: 751 signatures (no change since last poll; 1 new, 1 removed)",
        f"{NAME}: 751 signatures (no change since last poll)",
    ]
    assert [(p["count"], p["outcome"], p["added"], p["removed"]) for p in history] == [
        (479, "ok", 479, 0), (479, "unchanged", 0, 0), (502, "ok", 23, 0),
        (752, "ok", 250, 0), (751, "ok", 0, 1), (751, "ok", 1, 1), (751, "unchanged", 0, 0)]
    assert history[4]["crawl"] == "full"  # only reading every page can find a removal
    assert sum(not s["removed_at"] for s in people) == 751
    assert len(people) == 753
    edited = [s for s in people if s["fields"]["title"] == "Professor Emerita"]
    assert edited and edited[-1]["removed_at"] is None

    assert said == runs["sqlite"][0]
    assert _comparable(*runs["postgresql"][1:]) == _comparable(*runs["sqlite"][1:])
    # the PostgreSQL run really went to PostgreSQL
    db = open_database(pg_url)
    try:
        assert db.scalar("SELECT COUNT(*) FROM signatories") == 753
        assert db.scalar("SELECT COUNT(*) FROM polls") == 7
    finally:
        db.close()


def test_a_letter_another_process_is_polling_is_left_to_it(
        pg_url: str, site: LetterSite, config_for: Callable[..., Path],
        monkeypatch: pytest.MonkeyPatch, run_cli: Callable[..., Result]) -> None:
    """PostgreSQL is shared by several processes: they meet on each letter's lease."""
    monkeypatch.setenv("LETTERMON_DATABASE_URL", pg_url)
    cfg = config_for(site)
    assert run_cli("check", "--config", str(cfg)).exit_code == 0
    polled = len(site.requests)
    with open_store(pg_url, "2026-01-01T00:00:00Z") as other:
        letter = other.letters.get("rekognition")
        assert letter is not None
        assert other.leases.claim("worker-b", letter.id, "2026-01-01T00:00:00Z",
                                  "2999-01-01T00:00:00Z") is None
        result = run_cli("check", "--config", str(cfg))
        assert result.exit_code == 75, result.output
        assert "rekognition is being polled by worker-b; left to it" in result.stderr
        assert len(site.requests) == polled  # it polled nothing
        other.leases.release("worker-b", letter.id, None)
    result = run_cli("check", "--config", str(cfg))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"{NAME}: 479 signatures")
