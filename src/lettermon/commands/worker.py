"""``run`` and ``health``: the unattended worker and its health check."""

from __future__ import annotations

import json
import sys

import click

from lettermon.commands.common import (
    EXIT_FAILED,
    config_option,
    errors_to_exit_codes,
    format_option,
    load,
    require_letters,
)


@click.command()
@config_option
def run(config_file: str | None) -> None:
    """Poll every letter on its schedule and post what is due, until SIGTERM or SIGINT."""
    from lettermon.app import build_app
    from lettermon.lock import run_lock
    from lettermon.worker import StopRequest, Worker, install_signal_handlers

    with errors_to_exit_codes():
        settings = load(config_file, log_level="INFO")
        require_letters(settings)
        stop = StopRequest()
        install_signal_handlers(stop)
        with build_app(settings, stopping=stop.crawl_must_stop,
                       cancel=stop.crawl_must_stop) as app, \
                run_lock(settings, app.store.db):
            metrics = None
            if settings.metrics.enabled:
                from lettermon.metrics import serve_metrics

                metrics = serve_metrics(settings.database_url, settings.metrics.host,
                                        settings.metrics.port)
            try:
                Worker(app, stop).run()
            finally:
                if metrics is not None:
                    metrics.shutdown()


@click.command()
@config_option
@format_option("text", "json")
def health(config_file: str | None, fmt: str) -> None:
    """Exit 0 if every letter was polled successfully lately and no post gave up."""
    from lettermon import clock
    from lettermon.app import open_store
    from lettermon.health import check_health

    with errors_to_exit_codes():
        settings = load(config_file)
        store = open_store(settings)
        try:
            report = check_health(settings, store, clock.now())
        finally:
            store.db.close()
    if fmt == "json":
        click.echo(json.dumps(report.as_json(), ensure_ascii=False, indent=2))
    elif report.ok:
        click.echo(f"ok: {len(report.letters)} letter(s) polled on time, nothing given up")
    else:
        for problem in report.problems:
            click.echo(problem)
    if not report.ok:
        sys.exit(EXIT_FAILED)


COMMANDS = (run, health)
