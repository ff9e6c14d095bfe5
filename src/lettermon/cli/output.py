"""Rendering rows for people (aligned text), spreadsheets (CSV) and machines (JSON).

JSON output is a stable contract: keys are only ever added, never renamed or removed.
Every text that reaches a terminal goes through :mod:`lettermon.terminal`.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TextIO

from lettermon.terminal import dumps_json, one_line, terminal_safe

__all__ = ["dumps_json", "one_line", "terminal_safe", "write_csv", "write_json_array",
           "write_table"]

def write_json_array(items: Iterable[Mapping[str, Any]], out: TextIO) -> None:
    """Stream a JSON array, one object per line, without holding it all in memory."""
    out.write("[")
    first = True
    for item in items:
        out.write("\n" if first else ",\n")
        out.write(dumps_json(item))
        first = False
    out.write("\n]\n" if not first else "]\n")


# A spreadsheet reads a cell starting with one of these as a formula (OWASP, CSV Injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def write_csv(items: Iterable[Mapping[str, Any]], columns: Sequence[str], out: TextIO, *,
              safe: bool = True) -> None:
    """CSV with a header row. With ``safe``, a text cell (or column name) that a
    spreadsheet would run as a formula gets a leading "'"; numbers are written as they
    are, since a number cannot be a formula ("-3" read from a page is text, and escaped).

    A row with a carriage return in a cell is written with every cell quoted: with "\n"
    line ends, the csv module would leave that cell unquoted and split the row.
    """
    cell = _spreadsheet_safe if safe else _as_given
    plain = csv.writer(out, lineterminator="\n")
    quoted = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)

    def write(row: list[Any]) -> None:
        carriage_return = any(isinstance(v, str) and "\r" in v for v in row)
        (quoted if carriage_return else plain).writerow(row)

    write([cell(c) for c in columns])
    for item in items:
        write([cell(item.get(c)) for c in columns])


def _as_given(value: Any) -> Any:
    return "" if value is None else value


def _spreadsheet_safe(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return _as_given(value)


def write_table(rows: Sequence[Sequence[str]], headers: Sequence[str], out: TextIO) -> None:
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    out.write("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip() + "\n")
    for row in rows:
        out.write("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() + "\n")
