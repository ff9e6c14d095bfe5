"""The ``lettermon`` command line: the edge where errors become messages and exit codes.

Each command parses its arguments, calls the library API (:class:`lettermon.app.App`) and
prints. A program that embeds lettermon, or a test, passes a :class:`lettermon.app.Wiring`
as click's ``obj`` to give the commands collaborators of its own.
"""

from __future__ import annotations

import importlib
import os

import click

from lettermon import __version__
from lettermon.cli.common import global_options

COMMANDS = {
    "check": "letters", "history": "letters", "signatories": "letters", "probe": "letters",
    "accept": "letters", "breakdown": "breakdown", "outbox": "outbox", "post": "outbox",
    "chart": "report", "report": "report", "export": "report", "run": "run", "health": "run",
    "db": "db", "copy-db": "db",
}
"""Each command and the module of this package that defines it (in its ``COMMANDS``)."""


class _Commands(click.Group):
    """Imports a command's module when the command is used: a cron ``check`` loads the
    code of ``check`` alone (start-up time is part of the product)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module = importlib.import_module(f"{__name__}.{COMMANDS[cmd_name]}")
            for command in module.COMMANDS:
                self.add_command(command)
        return self.commands.get(cmd_name)

EXIT_CODES_HELP = """\b
Exit codes:
  0   success
  1   a poll failed, was blocked, suspect or partial (or health is bad, or a
      copy-db failed or differed)
  2   bad usage or configuration (or copy-db refused)
  75  another lettermon run holds the lock (cron overlap)"""


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]},
             epilog=EXIT_CODES_HELP)
@click.version_option(__version__, prog_name="lettermon")
@global_options
def cli() -> None:
    """Watch open letters: count signatures, keep their history, announce milestones.

    --config, --format and -v go before the command or after it.
    """


def main(argv: list[str] | None = None) -> None:
    # lettermon uses no pydantic plugins; looking for them scans every installed package's
    # metadata, a large part of a cron check's start-up. An explicit setting still wins.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    cli.main(args=argv, prog_name="lettermon")


if __name__ == "__main__":
    main()
