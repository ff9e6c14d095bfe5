"""``db status`` and ``db upgrade``: the database's schema, upgraded explicitly."""

from __future__ import annotations

import click

from lettermon.cli.common import (
    EXIT_FAILED,
    config_option,
    errors_to_exit_codes,
    format_option,
    load,
)
from lettermon.cli.output import dumps_json


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


COMMANDS = (db,)

