"""``db status``, ``db upgrade`` and ``copy-db``: the database's schema, upgraded
explicitly, and a whole history moved between databases (SQLite and PostgreSQL)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

from lettermon.cli.common import (
    EXIT_FAILED,
    EXIT_USAGE,
    Failed,
    config_option,
    errors_to_exit_codes,
    format_option,
    load,
    wiring,
)
from lettermon.cli.output import dumps_json, terminal_safe


@click.group()
def db() -> None:
    """The database's schema: db status, db upgrade."""


@db.command("status")
@config_option
@format_option("text", "json")
def db_status(config_file: str | None, fmt: str) -> None:
    """Show the database's schema version and this lettermon's; exit 1 if they differ."""
    from lettermon.app import schema_status

    with errors_to_exit_codes():
        version, latest = schema_status(load(config_file))
    state = ("none" if version == 0 else "up to date" if version == latest
             else "older" if version < latest else "newer")
    if fmt == "json":
        click.echo(dumps_json({"version": version, "lettermon": latest, "state": state}))
    elif state == "none":
        click.echo(f"no schema yet (lettermon sets up version {latest} on first use)")
    elif state == "up to date":
        click.echo(f"schema version {version}, up to date")
    elif state == "older":
        click.echo(f"schema version {version}, older than this lettermon's {latest}: "
                   "run lettermon db upgrade")
    else:
        click.echo(f"schema version {version}, newer than this lettermon's {latest}: "
                   "upgrade lettermon")
    if state in ("older", "newer"):
        raise SystemExit(EXIT_FAILED)


@db.command("upgrade")
@config_option
def db_upgrade(config_file: str | None) -> None:
    """Apply the schema migrations this lettermon brings (one process at a time)."""
    from lettermon.app import upgrade

    with errors_to_exit_codes():
        before, after = upgrade(load(config_file))
    if before == after:
        click.echo(f"schema version {after}, already up to date")
    elif before == 0:
        click.echo(f"schema set up, version {after}")
    else:
        click.echo(f"schema upgraded from version {before} to {after}")


if TYPE_CHECKING:
    from lettermon.store.copy import CopyProgress, TableCopy


@contextmanager
def _table_progress() -> Iterator[CopyProgress | None]:
    """A progress line per table, only when a person watches a terminal."""
    if not sys.stderr.isatty():
        yield None
        return
    from lettermon.cli.progress import ProgressLine

    line = ProgressLine(sys.stderr)

    def advance(table: str, done: int, total: int) -> None:
        line.for_table(table)(done, total)

    try:
        yield advance
    finally:
        line.close()


def describe(table: TableCopy) -> str:
    rows = f"{table.rows:,} row{'' if table.rows == 1 else 's'}"
    if table.same:
        return f"{table.name}: {rows}, fingerprint {table.source_fingerprint[:16]} on both sides"
    if table.source_rows != table.target_rows:
        return (f"{table.name}: {rows} in the source, {table.target_rows:,} in the copy: "
                "DIFFERS")
    return (f"{table.name}: {rows} on both sides, fingerprint "
            f"{table.source_fingerprint[:16]} in the source, "
            f"{table.target_fingerprint[:16]} in the copy: DIFFERS")


@click.command("copy-db")
@click.option("--from", "source", metavar="URL", default=None,
              help="The database to copy (default: the config's database_url).")
@click.option("--to", "target", metavar="URL", default=None,
              help="The empty database to copy into (default: the config's database_url).")
@config_option
def copy_db(source: str | None, target: str | None, config_file: str | None) -> None:
    """Copy a whole history into an empty database (SQLite or PostgreSQL) and verify it."""
    from lettermon.app import copy_database
    from lettermon.errors import CopyRefused

    if source is None and target is None:
        raise click.UsageError("give --from URL, --to URL or both (the one left out is the "
                               "config's database_url)")
    with errors_to_exit_codes():
        if source is None or target is None:
            settings = load(config_file)
            configured = settings.database_url, settings.lock_file
        else:
            from lettermon.cli.logs import configure_logging

            configure_logging(level="WARNING")
        source_url, source_lock = (source, None) if source is not None else configured
        target_url, target_lock = (target, None) if target is not None else configured
        try:
            with _table_progress() as progress:
                report = copy_database(source_url, target_url, wiring(), progress=progress,
                                       source_lock=source_lock, target_lock=target_lock)
        except CopyRefused as exc:
            raise Failed(str(exc), EXIT_USAGE) from None
    for table in report.tables:
        click.echo(describe(table))
    if not report.ok:
        raise Failed(f"the copy differs from the source in {', '.join(report.differing)}; "
                     "it was rolled back: the target was left as it was", EXIT_FAILED)
    click.echo(terminal_safe(
        f"copied {report.rows:,} rows in {len(report.tables)} tables from {report.source} "
        f"to {report.target}; counts and fingerprints match"))


COMMANDS = (db, copy_db)

