"""``lettermon signatories NAME --by country|role|institution``: who signed, counted."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from reporting import HOSTILE_COUNTRY, build


@pytest.fixture
def config(tmp_path: Path, clock: Any) -> Path:
    build(tmp_path / "data.sqlite3", clock.now)
    path = tmp_path / "lettermon.toml"
    path.write_text(f'database_url = "sqlite:///{tmp_path / "data.sqlite3"}"\n'
                    '[[letters]]\nname = "rekognition"\nurl = "https://letters.example.org/"\n',
                    encoding="utf-8")
    return path


def by(run_cli: Callable[..., Result], config: Path, what: str, *args: str) -> str:
    result = run_cli("signatories", "rekognition", "--by", what, *args, "--config", str(config))
    assert result.exit_code == 0, result.output
    return result.output


def test_countries_as_iso_codes_with_the_raw_spellings(
        config: Path, run_cli: Callable[..., Result]) -> None:
    data = json.loads(by(run_cli, config, "country", "--format", "json"))
    assert data["by"] == "country" and data["total"] == 8
    lines = {line["code"]: line for line in data["lines"] if line["known"]}
    assert lines["US"]["count"] == 3
    assert sorted(lines["US"]["spellings"]) == ["U.S.A.", "USA", "United States"]
    assert {code: line["count"] for code, line in lines.items()} == {
        "US": 3, "BR": 1, "GB": 1, "FR": 1, "JP": 1}
    [unknown] = [line for line in data["lines"] if not line["known"]]
    assert unknown == {"label": HOSTILE_COUNTRY, "code": None, "count": 1, "known": False,
                       "spellings": [HOSTILE_COUNTRY]}
    table = by(run_cli, config, "country")
    assert table.splitlines()[0].split() == ["country", "code", "count", "share", "as",
                                             "written"]
    assert any(line.split()[:4] == ["United", "States", "US", "3"]
               for line in table.splitlines())
    assert table.splitlines()[-1].split() == ["total", "8"]


def test_roles_in_five_groups(config: Path, run_cli: Callable[..., Result]) -> None:
    rows = list(csv.DictReader(io.StringIO(by(run_cli, config, "role", "--format", "csv"))))
    assert [(r["label"], r["count"]) for r in rows] == [
        ("professor", "2"), ("lecturer/researcher", "2"), ("student", "2"),
        ("industry", "2"), ("other", "0")]


def test_institutions_grouped_by_their_spelling(config: Path,
                                                run_cli: Callable[..., Result]) -> None:
    data = json.loads(by(run_cli, config, "institution", "--format", "json"))
    counts = {line["label"]: line["count"] for line in data["lines"]}
    assert counts["USP"] == 3  # "USP" twice and "usp" once
    assert counts["(none given)"] == 1 and data["lines"][-1]["label"] == "(none given)"


def test_by_does_not_go_with_since(config: Path, run_cli: Callable[..., Result]) -> None:
    result = run_cli("signatories", "rekognition", "--by", "role", "--since", "1d",
                     "--config", str(config))
    assert result.exit_code == 2 and "--by" in result.output
