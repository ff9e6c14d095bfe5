"""``breakdown``: a letter's latest counts by country, constituency or another dimension."""

from __future__ import annotations

import sys
from typing import Any

import click

from lettermon.cli.common import config_option, errors_to_exit_codes, format_option, opened
from lettermon.cli.output import one_line, write_csv, write_table


@click.command()
@click.argument("name")
@config_option
@click.option("--by", "dimension", default="country", show_default=True,
              help="The dimension: country, constituency, region, or one a [letters.json] "
                   "breakdown names.")
@format_option("table", "json", "csv")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="Only the N largest.")
def breakdown(name: str, config_file: str | None, dimension: str, fmt: str,
              limit: int | None) -> None:
    """The latest signature counts of letter NAME by country, constituency, ..."""
    from lettermon.terminal import dumps_json

    with errors_to_exit_codes(), opened(config_file, names=[name], read_only=True) as app:
        view = app.counts_by(name, dimension)
    items = [{"name": item, "count": count} for item, count in view.items[:limit]]
    total = view.total
    if fmt == "json":
        click.echo(dumps_json({"letter": name, "dimension": view.dimension, "at": view.at,
                               "poll_id": view.poll_id, "total": total, "items": items},
                              indent=2))
    elif fmt == "csv":
        write_csv(items, ("name", "count"), sys.stdout)
    else:
        click.echo(f"{name} by {view.dimension}, as of {view.at[:19].replace('T', ' ')} UTC "
                   f"({len(view.items):,} entries, {total:,} signatures)")
        rows = [[one_line(str(i["name"]), 60), f"{i['count']:,}", _share(i, total)]
                for i in items]
        write_table(rows, [view.dimension, "signatures", "share"], sys.stdout)


def _share(item: dict[str, Any], total: int) -> str:
    return f"{100 * item['count'] / total:.1f}%" if total else ""


COMMANDS = (breakdown,)
