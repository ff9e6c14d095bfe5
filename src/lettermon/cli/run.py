"""``run`` and ``health``: the unattended worker and its health check."""

from __future__ import annotations

import sys

import click

from lettermon.cli.common import (
    EXIT_FAILED,
    config_option,
    errors_to_exit_codes,
    format_option,
    load,
    opened,
    wiring,
)
from lettermon.cli.output import dumps_json, terminal_safe


@click.command()
@config_option
def run(config_file: str | None) -> None:
    """Poll every letter on its schedule and post what is due, until SIGTERM or SIGINT."""
    from lettermon.run.worker import StopRequest, install_signal_handlers

    stop = StopRequest()
    with errors_to_exit_codes(), opened(config_file, log_level="INFO", letters_required=True,
                                        stopping=stop.crawl_must_stop) as app:
        install_signal_handlers(stop)
        app.run(stop)


@click.command()
@config_option
@format_option("text", "json")
def health(config_file: str | None, fmt: str) -> None:
    """Exit 0 if every letter was polled successfully lately and no post gave up."""
    from lettermon.app import health as check_health

    with errors_to_exit_codes():
        report = check_health(load(config_file), wiring())
    if fmt == "json":
        click.echo(dumps_json(report.as_json(), indent=2))
    elif report.ok:
        click.echo(f"ok: {len(report.letters)} letter(s) polled on time, nothing given up")
    else:
        for problem in report.problems:
            click.echo(terminal_safe(problem))
    if not report.ok:
        sys.exit(EXIT_FAILED)


COMMANDS = (run, health)
