"""A standalone SQLite copy of the history, for Datasette, a spreadsheet or a notebook.

One table per kind of record, every signatory's fields as columns of their own (the raw
value as stored) with the normalised country beside them, streamed from the store in
batches so memory stays flat however large the letter. The file is written under a
temporary name and renamed when complete.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import Any

from lettermon.errors import StoreError
from lettermon.store.letters import LetterState
from lettermon.store.polls import _COLUMNS as POLL_COLUMNS

Country = Callable[[str], tuple[str | None, str | None]]
"""A typed country → (ISO 3166 code, name), (None, None) when unknown."""

BATCH = 1000
_FIXED = ("id", "letter", "country_code", "country_name", "first_seen", "last_seen",
          "removed_at", "fields")

SCHEMA = (
    """CREATE TABLE letters (name TEXT PRIMARY KEY, url TEXT, title TEXT,
        last_count INTEGER, present INTEGER)""",
    f"""CREATE TABLE polls (letter TEXT NOT NULL REFERENCES letters(name),
        {", ".join(POLL_COLUMNS)})""",
    """CREATE TABLE milestones (letter TEXT NOT NULL REFERENCES letters(name),
        milestone INTEGER NOT NULL, reached_at TEXT NOT NULL, count INTEGER,
        announced INTEGER)""",
    """CREATE TABLE posts (letter TEXT NOT NULL REFERENCES letters(name), kind TEXT,
        milestone INTEGER, channel TEXT, status TEXT, text TEXT, remote_id TEXT,
        remote_url TEXT, sent_at TEXT)""",
)


def column_names(fields: Sequence[str]) -> dict[str, str]:
    """Each field name → its column: the name itself, or ``field_<name>`` where it would
    clash with a fixed column or another field."""
    taken = set(_FIXED)
    columns: dict[str, str] = {}
    for name in fields:
        column = name if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) else "field_" + re.sub(
            r"\W", "_", name)
        while column.lower() in {t.lower() for t in taken}:
            column = "field_" + column
        taken.add(column)
        columns[name] = column
    return columns


def write_sqlite_copy(store: Any, path: Path, letters: Sequence[LetterState],
                      country: Country) -> dict[str, int]:
    """Write the history of ``letters`` to a new SQLite file at ``path`` (replacing it);
    return the rows written per table."""
    fields: dict[str, None] = {}
    for state in letters:
        fields.update(dict.fromkeys(store.signatories.field_names(state.id)))
    columns = column_names(list(fields))
    temporary = path.with_name(f".{path.name}.partial")
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    written = {"letters": 0, "polls": 0, "signatories": 0, "milestones": 0, "posts": 0}
    try:
        out = sqlite3.connect(temporary, isolation_level=None)
        try:
            out.execute("PRAGMA journal_mode = OFF")
            out.execute("BEGIN")
            for statement in SCHEMA:
                out.execute(statement)
            listed = ", ".join(f'"{c}" TEXT' for c in columns.values())
            out.execute(f"""CREATE TABLE signatories (id INTEGER PRIMARY KEY,
                letter TEXT NOT NULL REFERENCES letters(name),
                {listed + ", " if listed else ""}country_code TEXT, country_name TEXT,
                first_seen TEXT, last_seen TEXT, removed_at TEXT, fields TEXT)""")
            for state in letters:
                _copy(out, store, state, columns, country, written)
            out.execute("CREATE INDEX signatories_by_letter ON signatories (letter, first_seen)")
            out.execute("CREATE INDEX polls_by_letter ON polls (letter, at)")
            out.execute("COMMIT")
        finally:
            out.close()
        os.replace(temporary, path)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot write {path}: {exc}") from exc
    except OSError as exc:
        raise StoreError(f"cannot write {path}: {exc.strerror}") from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
    return written


def _copy(out: sqlite3.Connection, store: Any, state: LetterState, columns: dict[str, str],
          country: Country, written: dict[str, int]) -> None:
    name = state.name
    out.execute("INSERT INTO letters VALUES (?, ?, ?, ?, ?)",
                (name, state.url, state.title, state.last_count, state.present))
    written["letters"] += 1
    marks = ", ".join("?" * (len(POLL_COLUMNS) + 1))
    written["polls"] += _batches(out, f"INSERT INTO polls VALUES ({marks})", (
        (name, *(getattr(poll, c) for c in POLL_COLUMNS))
        for poll in store.polls.stream(state.id)))
    quoted = "".join(f'"{c}", ' for c in columns.values())
    marks = ", ".join("?" * (len(columns) + 8))
    written["signatories"] += _batches(
        out, f"INSERT INTO signatories (id, letter, {quoted}country_code, country_name, "
             f"first_seen, last_seen, removed_at, fields) VALUES ({marks})",
        (_signatory(view, name, columns, country)
         for view in store.signatories.listing(state.id)))
    written["milestones"] += _batches(out, "INSERT INTO milestones VALUES (?, ?, ?, ?, ?)", (
        (name, m, at, count, int(announced))
        for m, at, count, announced in store.milestones.reached(state.id)))
    written["posts"] += _batches(out, "INSERT INTO posts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", (
        (name, e.kind, e.milestone, e.channel, e.status, e.text, e.remote_id, e.remote_url,
         e.sent_at) for e in store.outbox.entries(name)))


def _signatory(view: Any, letter: str, columns: dict[str, str],
               country: Country) -> tuple[Any, ...]:
    raw = next((v for k, v in view.fields.items() if k.lower() == "country"), "")
    code, country_name = country(raw) if raw else (None, None)
    return (view.id, letter, *(view.fields.get(f) for f in columns), code, country_name,
            view.first_seen, view.last_seen, view.removed_at,
            json.dumps(view.fields, ensure_ascii=False))


def _batches(out: sqlite3.Connection, sql: str, rows: Iterable[tuple[Any, ...]]) -> int:
    total = 0
    iterator: Iterator[tuple[Any, ...]] = iter(rows)
    while batch := list(islice(iterator, BATCH)):
        out.executemany(sql, batch)
        total += len(batch)
    return total
