"""``chart``: a letter's signature count over time."""

from __future__ import annotations

from pathlib import Path

import click

from lettermon.cli.common import (
    EXIT_FAILED,
    EXIT_USAGE,
    Failed,
    config_option,
    errors_to_exit_codes,
    opened,
)


@click.command()
@click.argument("name")
@config_option
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True),
              default=None, help="PNG file to write (default: NAME.png).")
def chart(name: str, config_file: str | None, output: str | None) -> None:
    """Draw letter NAME's signature count over time as a PNG."""
    path = Path(output or f"{name}.png")
    if not path.parent.is_dir():  # the user's argument: a usage error, before any work
        raise Failed(f"cannot write {path}: the folder {path.parent} does not exist",
                     EXIT_USAGE)
    with errors_to_exit_codes(), opened(config_file, names=[name]) as app:
        image = app.chart(name)
    if image is None:
        raise Failed(f"{name} has no successful poll yet (run: lettermon check {name})",
                     EXIT_FAILED)
    try:
        path.write_bytes(image[0])
    except OSError as exc:
        raise Failed(f"cannot write {path}: {exc.strerror}", EXIT_USAGE) from None
    click.echo(f"wrote {path} ({image[1]})")


COMMANDS = (chart,)
