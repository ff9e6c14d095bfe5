"""``lettermon export``: polls, signatories and milestones for other tools, and SQLite."""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from reporting import FIRST, HOURS, POST_URL, build, many_signatories


def config(tmp_path: Path, name: str = "rekognition") -> Path:
    path = tmp_path / "lettermon.toml"
    path.write_text(f'database_url = "sqlite:///{tmp_path / "data.sqlite3"}"\n'
                    f'[[letters]]\nname = "{name}"\nurl = "https://letters.example.org/"\n',
                    encoding="utf-8")
    return path


@pytest.fixture
def built(tmp_path: Path, clock: Any) -> Path:
    build(tmp_path / "data.sqlite3", clock.now)
    return config(tmp_path)


def export(run_cli: Callable[..., Result], cfg: Path, *args: str) -> str:
    result = run_cli("export", *args, "--config", str(cfg))
    assert result.exit_code == 0, result.output
    return result.output


def test_signatories_as_csv_with_the_normalised_country_beside_the_raw_one(
        built: Path, run_cli: Callable[..., Result]) -> None:
    rows = list(csv.DictReader(io.StringIO(export(run_cli, built, "rekognition"))))
    assert len(rows) == 8
    assert list(rows[0])[:7] == ["first_name", "last_name", "title", "country", "country_code",
                                 "country_name", "institution"]
    by_name = {row["first_name"]: row for row in rows}
    assert (by_name["Dmitri"]["country"], by_name["Dmitri"]["country_code"]) == ("U.S.A.", "US")
    assert (by_name["Ben"]["country"], by_name["Ben"]["country_name"]) == (
        "UK", "United Kingdom")
    assert by_name["Grace"]["country_code"] == ""  # unknown: never guessed
    assert by_name["Ana"]["first_seen"] < by_name["Hiroshi"]["first_seen"]


def test_polls_and_milestones_in_every_format(built: Path, run_cli: Callable[..., Result],
                                              tmp_path: Path) -> None:
    lines = export(run_cli, built, "rekognition", "--what", "polls", "--format",
                   "ndjson").splitlines()
    assert len(lines) == HOURS + 1
    polls = [json.loads(line) for line in lines]
    assert [p["outcome"] for p in polls].count("failed") == 2
    assert polls[-1]["count"] == 100 + HOURS and polls[-1]["ok"] is True
    target = tmp_path / "milestones.json"
    assert export(run_cli, built, "rekognition", "--what", "milestones", "--format", "json",
                  "-o", str(target)) == ""
    milestones = json.loads(target.read_text(encoding="utf-8"))
    assert [m["milestone"] for m in milestones] == list(range(100, 1001, 100))
    assert milestones[-1]["posts"].split() == [POST_URL, "javascript:alert(1)"]
    assert milestones[0]["announced"] is False


def test_a_standalone_sqlite_copy(built: Path, run_cli: Callable[..., Result],
                                  tmp_path: Path) -> None:
    target = tmp_path / "copy.sqlite3"
    out = export(run_cli, built, "--sqlite", str(target))
    assert out.strip() == (f"wrote {target}: 1 letters, {HOURS + 1:,} polls, 8 signatories, "
                           "10 milestones, 2 posts")
    with sqlite3.connect(target) as db:
        assert db.execute("SELECT name, last_count FROM letters").fetchall() == [
            ("rekognition", 100 + HOURS)]
        found = db.execute("SELECT first_name, country, country_code, country_name "
                           "FROM signatories ORDER BY id").fetchall()
        assert found[:len(FIRST)] == [
            ("Ana", "Brazil", "BR", "Brazil"), ("Ben", "UK", "GB", "United Kingdom"),
            ("Chloé", "France", "FR", "France"), ("Dmitri", "U.S.A.", "US", "United States"),
            ("Esra", "USA", "US", "United States")]
        assert db.execute("SELECT COUNT(*) FROM polls WHERE outcome = 'failed'").fetchone() \
            == (2,)
        assert db.execute("SELECT remote_url FROM posts WHERE channel = 'icrac-mastodon'"
                          ).fetchone() == (POST_URL,)
    export(run_cli, built, "--sqlite", str(target))  # again: replaced, not appended
    with sqlite3.connect(target) as db:
        assert db.execute("SELECT COUNT(*) FROM signatories").fetchone() == (8,)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".copy")] == []


def test_export_needs_a_letter_or_sqlite(built: Path, run_cli: Callable[..., Result]) -> None:
    result = run_cli("export", "--config", str(built))
    assert result.exit_code == 2 and "--sqlite" in result.output


def peak_of_export(run_cli: Callable[..., Result], cfg: Path, *args: str) -> int:
    """Peak Python memory, in bytes, of one export written to /dev/null."""
    tracemalloc.start()
    try:
        result = run_cli("export", "big", *args, "-o", os.devnull, "--config", str(cfg))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.exit_code == 0, result.output
    return peak


@pytest.mark.slow
def test_exporting_100000_signatories_takes_flat_memory(
        tmp_path: Path, clock: Any, run_cli: Callable[..., Result]) -> None:
    small, large = tmp_path / "small", tmp_path / "large"
    small.mkdir()
    large.mkdir()
    many_signatories(small / "data.sqlite3", clock.now, 10_000)
    many_signatories(large / "data.sqlite3", clock.now, 100_000)
    for fmt in ("csv", "ndjson"):
        peaks = [peak_of_export(run_cli, config(folder, "big"), "--format", fmt)
                 for folder in (small, large)]
        # ten times the signatories, the same memory: rows are never all held at once
        assert peaks[1] < peaks[0] * 1.5 + 2_000_000, (fmt, peaks)
        assert peaks[1] < 25_000_000, (fmt, peaks)
    target = large / "copy.sqlite3"
    run_cli("export", "--sqlite", str(target), "--config", str(config(large, "big")))
    with sqlite3.connect(target) as db:
        assert db.execute("SELECT COUNT(*), COUNT(DISTINCT country_code) FROM signatories"
                          ).fetchone() == (100_000, 4)
