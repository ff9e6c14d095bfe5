"""``chart``: a letter's signature count over time."""

from __future__ import annotations

import click

from lettermon.cli.common import EXIT_FAILED, Failed, config_option, errors_to_exit_codes, opened


@click.command()
@click.argument("name")
@config_option
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True),
              default=None, help="PNG file to write (default: NAME.png).")
def chart(name: str, config_file: str | None, output: str | None) -> None:
    """Draw letter NAME's signature count over time as a PNG."""
    with errors_to_exit_codes(), opened(config_file, names=[name], read_only=True) as app:
        image = app.chart(name)
    if image is None:
        raise Failed(f"{name} has no successful poll yet (run: lettermon check {name})",
                     EXIT_FAILED)
    path = output or f"{name}.png"
    with open(path, "wb") as handle:
        handle.write(image[0])
    click.echo(f"wrote {path} ({image[1]})")


COMMANDS = (chart,)
