"""Rendering rows for people (aligned text), spreadsheets (CSV) and machines (JSON).

JSON output is a stable contract: keys are only ever added, never renamed or removed.

Names and titles come from a letter's page, written by strangers, so every text that can
reach a terminal goes through :func:`terminal_safe` (text) or :func:`dumps_json` (JSON):
a character a terminal would act on is shown as an escape, never sent as itself.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TextIO

# What a terminal acts on: C0 controls (ESC starts every escape sequence, BEL ends OSC),
# DEL, C1 controls (U+009B is a one-character CSI), line and paragraph separators, bidi
# marks, embeddings, overrides and isolates, and lone surrogates, which cannot be written.
_BEYOND_C0 = r"\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff"
_UNSAFE_CHAR = re.compile(rf"[\x00-\x1f{_BEYOND_C0}]")
_UNSAFE_BUT_NEWLINE = re.compile(rf"[\x00-\x09\x0b-\x1f{_BEYOND_C0}]")


def terminal_safe(text: str, *, newlines: bool = False) -> str:
    """``text`` with every character a terminal would act on shown as a Python escape.

    ESC becomes ``\\x1b``, a bidi override ``\\u202e``, a tab ``\\t``; a line break
    stays a line break only with ``newlines=True``, else it is shown as ``\\n``. Every
    other character, emoji and their joiners included, is kept.
    """
    pattern = _UNSAFE_BUT_NEWLINE if newlines else _UNSAFE_CHAR
    return pattern.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    return match.group().encode("unicode_escape", "backslashreplace").decode("ascii")


def dumps_json(value: Any, *, indent: int | None = None,
               default: Callable[[Any], Any] | None = None) -> str:
    """JSON text, as :func:`json.dumps` writes it, that is safe to print to a terminal.

    ``json.dumps`` escapes C0 controls but writes DEL, C1 controls and bidi overrides as
    they are; here they become ``\\u`` escapes too, so the JSON parses to the same value.
    """
    # A raw "\n" can only be indentation: json.dumps escapes every C0 control in strings.
    text = json.dumps(value, ensure_ascii=False, indent=indent, default=default)
    return _UNSAFE_BUT_NEWLINE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


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


def one_line(text: str, limit: int = 200) -> str:
    """Hostile page text on one line, at most ``limit`` characters before escaping, with
    whitespace collapsed and every other character a terminal acts on shown as an escape."""
    cleaned = " ".join(text.split())
    cleaned = cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"
    return terminal_safe(cleaned)
