"""``chart``, ``report`` and ``export``: what organisers read and take elsewhere."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import click

from lettermon.cli.common import (
    EXIT_FAILED,
    EXIT_USAGE,
    Failed,
    config_option,
    errors_to_exit_codes,
    opened,
)
from lettermon.cli.output import dumps_json, terminal_safe, write_csv, write_json_array

if TYPE_CHECKING:
    from lettermon.app import App


def parse_size(_ctx: Any, _param: Any, value: str | None) -> tuple[int, int] | None:
    """``"1200x675"`` → (1200, 675), for ``--size``."""
    if value is None:
        return None
    match = re.fullmatch(r"\s*(\d{2,5})\s*[x×X]\s*(\d{2,5})\s*", value)
    if not match:
        raise click.BadParameter("give WIDTHxHEIGHT in pixels, e.g. 1200x675")
    width, height = int(match[1]), int(match[2])
    if not (200 <= width <= 8000 and 150 <= height <= 8000):
        raise click.BadParameter("width 200-8000 and height 150-8000 pixels")
    return width, height


def since_iso(app: App, since: str | None) -> str | None:
    """``--since``: an ISO date or time, or a duration back from now ("30d")."""
    if not since:
        return None
    from lettermon import clock

    try:
        return clock.iso(clock.parse_since(since, app.clock()))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None


since_option = click.option(
    "--since", default=None,
    help='Only the history since TIME: ISO date/time or a duration ("30d").')


@click.command()
@click.argument("name")
@config_option
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True),
              default=None, help="PNG or SVG file to write, by its extension "
                                 "(default: NAME.png).")
@since_option
@click.option("--size", callback=parse_size, default=None, metavar="WxH",
              help="Width and height in pixels (default: 1200x675, uncropped on X, "
                   "Mastodon and Bluesky).")
@click.option("--alt", "show_alt", is_flag=True,
              help="Print the chart's alt text (the numbers in words) for a post.")
def chart(name: str, config_file: str | None, output: str | None, since: str | None,
          size: tuple[int, int] | None, show_alt: bool) -> None:
    """Draw letter NAME's signature count over time as a PNG or SVG."""
    path = Path(output or f"{name}.png")
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ("png", "svg"):
        raise click.BadParameter("the file must end in .png or .svg", param_hint="--output")
    if not path.parent.is_dir():  # the user's argument: a usage error, before any work
        raise Failed(f"cannot write {path}: the folder {path.parent} does not exist",
                     EXIT_USAGE)
    with errors_to_exit_codes(), opened(config_file, names=[name], read_only=True) as app:
        drawn = app.chart(name, fmt="png" if fmt == "png" else "svg", size=size,
                          since=since_iso(app, since))
    if drawn is None:
        raise Failed(f"{name} has no successful poll yet"
                     f"{' in that time' if since else ''} (run: lettermon check {name})",
                     EXIT_FAILED)
    try:
        path.write_bytes(drawn.image)
    except OSError as exc:
        raise Failed(f"cannot write {path}: {exc.strerror}", EXIT_USAGE) from None
    if show_alt:
        click.echo(terminal_safe(drawn.alt))
    else:
        click.echo(terminal_safe(f"wrote {path}"))


@click.command()
@click.argument("name")
@config_option
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True),
              default=None, help="HTML file to write (default: NAME.html).")
def report(name: str, config_file: str | None, output: str | None) -> None:
    """Write letter NAME's report: one self-contained HTML page (count, changes, chart,
    milestones and their posts, who signed, polling health)."""
    with errors_to_exit_codes(), opened(config_file, names=[name], read_only=True) as app:
        html = app.report(name)
    path = Path(output or f"{name}.html")
    path.write_text(html, encoding="utf-8")
    click.echo(terminal_safe(f"wrote {path}"))


@click.command()
@click.argument("name", required=False)
@config_option
@click.option("--what", type=click.Choice(["polls", "signatories", "milestones"]),
              default="signatories", show_default=True, help="What to export.")
@click.option("--format", "fmt", type=click.Choice(["csv", "json", "ndjson"]), default="csv",
              show_default=True, help="CSV, a JSON array, or one JSON object per line.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default=None,
              help="File to write (default: standard output).")
@click.option("--sqlite", "sqlite_file", type=click.Path(dir_okay=False, writable=True),
              default=None, help="Write a standalone SQLite copy of the history (of NAME, "
                                 "else of every letter) to this file instead.")
@click.option("--csv-raw", is_flag=True,
              help="With CSV: write cells as stored, without the leading ' that stops a "
                   "spreadsheet from running a cell starting with = + - @ as a formula.")
def export(name: str | None, config_file: str | None, what: str, fmt: str,
           output: str | None, sqlite_file: str | None, csv_raw: bool) -> None:
    """Export letter NAME's polls, signatories or milestones for other tools, streamed
    (memory stays flat however large the letter), or the whole history as SQLite."""
    if sqlite_file is not None:
        with errors_to_exit_codes(), opened(config_file, names=[name], read_only=True) as app:
            written = app.export_sqlite(Path(sqlite_file), [name] if name else [])
        counts = ", ".join(f"{n:,} {table}" for table, n in written.items())
        click.echo(terminal_safe(f"wrote {sqlite_file}: {counts}"))
        return
    if name is None:
        raise click.UsageError("name a letter (or give --sqlite FILE)")
    if csv_raw and fmt != "csv":
        raise click.UsageError("--csv-raw goes with --format csv")
    with errors_to_exit_codes(), opened(config_file, names=[name], read_only=True) as app:
        columns, rows = app.export(name, what)  # type: ignore[arg-type]
        if output is None:
            _write_rows(rows, columns, fmt, sys.stdout, safe=not csv_raw)
        else:
            with open(output, "w", encoding="utf-8", newline="") as out:
                _write_rows(rows, columns, fmt, out, safe=not csv_raw)


def _write_rows(rows: Iterator[dict[str, Any]], columns: list[str], fmt: str, out: TextIO,
                *, safe: bool) -> None:
    if fmt == "csv":
        write_csv(rows, columns, out, safe=safe)
    elif fmt == "json":
        write_json_array(rows, out)
    else:
        for row in rows:
            out.write(dumps_json(row))
            out.write("\n")


COMMANDS = (chart, report, export)
