"""The ``lettermon`` command line: the edge where errors become messages and exit codes.

Each command parses its arguments, calls the library API (:class:`lettermon.app.App`) and
prints. A program that embeds lettermon, or a test, passes a :class:`lettermon.app.Wiring`
as click's ``obj`` to give the commands collaborators of its own.
"""

from __future__ import annotations

import os

import click

from lettermon import __version__
from lettermon.cli import breakdown, db, letters, outbox, report, run
from lettermon.cli.common import global_options

EXIT_CODES_HELP = """\b
Exit codes:
  0   success
  1   a poll failed, was blocked, suspect or partial (or health is bad, or a
      copy-db failed or differed)
  2   bad usage or configuration (or copy-db refused)
  75  another lettermon run holds the lock (cron overlap)"""


@click.group(context_settings={"help_option_names": ["-h", "--help"]},
             epilog=EXIT_CODES_HELP)
@click.version_option(__version__, prog_name="lettermon")
@global_options
def cli() -> None:
    """Watch open letters: count signatures, keep their history, announce milestones.

    --config, --format and -v go before the command or after it.
    """


for _command in (*letters.COMMANDS, *breakdown.COMMANDS, *outbox.COMMANDS, *report.COMMANDS,
                 *run.COMMANDS, *db.COMMANDS):
    cli.add_command(_command)


def main(argv: list[str] | None = None) -> None:
    # lettermon uses no pydantic plugins; looking for them scans every installed package's
    # metadata, a large part of a cron check's start-up. An explicit setting still wins.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    cli.main(args=argv, prog_name="lettermon")


if __name__ == "__main__":
    main()
