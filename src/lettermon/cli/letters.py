"""``check``, ``history``, ``signatories`` and ``probe``: tracking letters."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from lettermon.cli.common import (
    EXIT_FAILED,
    EXIT_LOCKED,
    EXIT_USAGE,
    Failed,
    config_option,
    errors_to_exit_codes,
    format_option,
    level,
    opened,
    wiring,
)
from lettermon.cli.output import (
    dumps_json,
    one_line,
    terminal_safe,
    write_csv,
    write_json_array,
    write_table,
)

if TYPE_CHECKING:
    from lettermon.announce.sender import Delivery
    from lettermon.settings import LetterSettings
    from lettermon.watch.poll import PollReport


@contextmanager
def _progress_bars() -> Iterator[Any]:
    """A progress line for long crawls, only when a person watches a terminal."""
    if not sys.stderr.isatty():
        yield None
        return
    from lettermon.cli.progress import ProgressLine

    line = ProgressLine(sys.stderr)
    try:
        yield line.for_letter
    finally:
        line.close()


def summary(report: PollReport) -> str:
    name = report.letter
    if not report.ok:
        return f"{name}: {report.outcome.upper()}: {report.error}"
    if report.first_run and report.count_only:
        return f"{name}: {report.count:,} signatures (first poll){_closed(report)}"
    if report.first_run:
        return (f"{name}: {report.count:,} signatures (first poll: "
                f"{report.added:,} signatories recorded){_closed(report)}")
    delta = report.delta or 0
    change = f"{delta:+,} since last poll" if delta else "no change since last poll"
    extra = []
    if report.added:
        extra.append(f"{report.added:,} new")
    if report.restored:
        extra.append(f"{report.restored:,} back on the list")
    if report.removed:
        extra.append(f"{report.removed:,} removed")
    tail = f"; {', '.join(extra)}" if extra else ""
    return f"{name}: {report.count:,} signatures ({change}{tail}){_closed(report)}"


def _closed(report: PollReport) -> str:
    return f"; {report.state}: polled no more" if report.closed else ""


def describe_fields(fields: dict[str, str]) -> str:
    return one_line(", ".join(v for v in fields.values() if v))


def report_json(report: PollReport) -> dict[str, Any]:
    return {
        "letter": report.letter, "poll_id": report.poll_id, "ok": report.ok,
        "outcome": report.outcome, "count": report.count, "previous": report.previous,
        "delta": report.delta, "added": report.added, "removed": report.removed,
        "new_signatories": report.new_signatories, "pages": report.pages,
        "bytes": report.bytes, "duration_ms": int(report.duration * 1000),
        "crawl": report.crawl, "http_status": report.http_status, "error": report.error,
        "state": report.state, "closed": report.closed,
        "after_poll_errors": list(report.after_poll_errors),
    }


def delivery_json(delivery: Delivery) -> dict[str, Any]:
    entry = delivery.entry
    return {"id": entry.id, "letter": entry.letter, "channel": entry.channel,
            "kind": entry.kind, "milestone": entry.milestone, "status": delivery.status,
            "remote_url": delivery.remote_url, "reason": delivery.reason}


def describe_delivery(delivery: Delivery) -> str:
    entry = delivery.entry
    what = f"{entry.kind} {entry.milestone:,}" if entry.kind == "milestone" else entry.kind
    head = f"{entry.letter}: {what} → {entry.channel}: {delivery.status}"
    if delivery.status == "sent":
        return terminal_safe(f"{head} {delivery.remote_url or ''}".rstrip())
    line = f"{head} ({delivery.reason})"
    if delivery.reason and delivery.reason.startswith("dry run"):
        line += "\n  would post: " + entry.text.replace("\n", "\n              ")
    return terminal_safe(line, newlines=True)


def print_warnings(letter: str, warnings: list[str], *, err: bool = False) -> None:
    for warning in warnings:
        click.echo(terminal_safe(f"{letter}: warning: {warning}"), err=err)


def _print_report(report: PollReport) -> None:
    click.echo(terminal_safe(summary(report)))
    if not report.first_run:
        for fields in report.new_signatories:
            click.echo(f"  + {describe_fields(fields)}")
        if report.added > len(report.new_signatories):
            click.echo(f"  … and {report.added - len(report.new_signatories):,} more"
                       f" (lettermon signatories {report.letter} --since 1h)")
    for error in report.after_poll_errors:
        click.echo(terminal_safe(f"{report.letter}: the poll is stored, but after it {error}"))


def _print_closed(letter: LetterSettings) -> None:
    click.echo(f"{letter.name}: closed, not polled (lettermon check {letter.name} polls it "
               "anyway)")


@click.command()
@click.argument("names", nargs=-1)
@config_option
@format_option("text", "json")
@click.option("--no-post", is_flag=True, help="Poll only; send nothing that is due.")
def check(names: tuple[str, ...], config_file: str | None, fmt: str, no_post: bool) -> None:
    """Poll each letter once (or the NAMES given) and show what changed.

    A closed letter is polled only when named."""
    with errors_to_exit_codes(), _progress_bars() as progress, \
            opened(config_file, names=names, letters_required=True, progress=progress,
                   console_to_stderr=fmt == "json") as app:

        def show(report: PollReport) -> None:
            _print_report(report)
            print_warnings(report.letter, app.warnings(report.letter))

        checked = app.check(app.letters(names), post=not no_post,
                            on_report=show if fmt == "text" else None,
                            skip_closed=not names,
                            on_closed=_print_closed if fmt == "text" else None)
        warnings = ({r.letter: app.warnings(r.letter) for r in checked.reports}
                    if fmt == "json" else {})
    if fmt == "json":
        click.echo(dumps_json([{**report_json(r), "warnings": warnings[r.letter]}
                               for r in checked.reports], indent=2))
    else:
        for delivery in checked.deliveries:
            click.echo(describe_delivery(delivery))
    for name, holder in checked.busy:
        click.echo(terminal_safe(f"lettermon: {name} is being polled by {holder}; "
                                 "left to it"), err=True)
    if not all(r.ok and not r.after_poll_errors for r in checked.reports):
        sys.exit(EXIT_FAILED)
    if checked.busy:
        sys.exit(EXIT_LOCKED)


csv_raw_option = click.option(
    "--csv-raw", is_flag=True,
    help="With --format csv: write cells as stored, without the leading ' that stops a "
         "spreadsheet from running a cell starting with = + - @ as a formula.")


def _check_csv_raw(fmt: str, csv_raw: bool) -> None:
    if csv_raw and fmt != "csv":
        raise click.UsageError("--csv-raw goes with --format csv")


POLL_KEYS = ("at", "count", "ok", "outcome", "http_status", "pages", "bytes", "duration_ms",
             "added", "removed", "crawl", "rows_seen", "error", "kind", "state")


@click.command()
@click.argument("name")
@config_option
@format_option("table", "json", "csv")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="Only the last N polls.")
@csv_raw_option
def history(name: str, config_file: str | None, fmt: str, limit: int | None,
            csv_raw: bool) -> None:
    """Every poll of letter NAME, oldest first."""
    _check_csv_raw(fmt, csv_raw)
    with errors_to_exit_codes(), opened(config_file, names=[name], read_only=True) as app:
        polls = app.history(name, limit=limit)
    items: list[dict[str, Any]] = [{
        "at": p.at, "count": p.count, "ok": p.outcome.ok,
        "outcome": p.outcome, "http_status": p.http_status, "pages": p.pages,
        "bytes": p.bytes, "duration_ms": p.duration_ms, "added": p.added,
        "removed": p.removed, "crawl": p.crawl, "rows_seen": p.rows_seen, "error": p.error,
        "kind": p.kind, "state": p.state,
    } for p in polls]
    out = sys.stdout
    if fmt == "json":
        write_json_array(items, out)
    elif fmt == "csv":
        write_csv(items, POLL_KEYS, out, safe=not csv_raw)
    elif not items:
        click.echo(f"{name}: no polls yet (run: lettermon check {name})")
    else:
        rows = [[i["at"][:19].replace("T", " "), "" if i["count"] is None else f"{i['count']:,}",
                 str(i["outcome"]), f"+{i['added']}/-{i['removed']}", str(i["pages"]),
                 one_line(str(i["error"] or ""), 80)] for i in items]
        write_table(rows, ["at (UTC)", "count", "outcome", "+new/-gone", "pages", "error"], out)


@click.command()
@click.argument("name")
@config_option
@format_option("table", "json", "csv")
@click.option("--since", default=None,
              help='Only those first seen since TIME: ISO date/time or a duration ("24h").')
@click.option("--present", is_flag=True, help="Leave out removed signatories.")
@click.option("--by", type=click.Choice(["country", "role", "institution"]), default=None,
              help="Count the present signatories by country (ISO 3166), role or "
                   "institution instead of listing them.")
@csv_raw_option
def signatories(name: str, config_file: str | None, fmt: str, since: str | None,
                present: bool, by: str | None, csv_raw: bool) -> None:
    """Signatories of letter NAME, in the order first seen (or counted, with --by)."""
    from lettermon import clock

    _check_csv_raw(fmt, csv_raw)
    if by is not None and since:
        raise click.UsageError("--by counts every present signatory; leave out --since")
    with errors_to_exit_codes(), opened(config_file, names=[name], read_only=True) as app:
        if by is not None:
            _print_breakdown(app.breakdown(name, by), fmt, csv_raw)  # type: ignore[arg-type]
            return
        since_iso = None
        if since:
            try:
                since_iso = clock.iso(clock.parse_since(since, app.clock()))
            except ValueError as exc:
                raise click.BadParameter(str(exc), param_hint="--since") from None
        _print_signatories(app.signatories(name, since=since_iso, present=present), fmt,
                           csv_raw)


def _print_signatories(views: Iterator[Any], fmt: str, csv_raw: bool = False) -> None:
    out = sys.stdout
    items = ({"fields": v.fields, "first_seen": v.first_seen, "last_seen": v.last_seen,
              "removed_at": v.removed_at, "fingerprint": v.fingerprint} for v in views)
    if fmt == "json":
        write_json_array(items, out)
        return
    if fmt == "csv":
        materialised = list(items)
        columns: dict[str, None] = {}
        for item in materialised:
            columns.update(dict.fromkeys(item["fields"]))
        flat = ({**i["fields"], "first_seen": i["first_seen"], "removed_at": i["removed_at"]}
                for i in materialised)
        write_csv(flat, [*columns, "first_seen", "removed_at"], out, safe=not csv_raw)
        return
    rows = [[i["first_seen"][:19].replace("T", " "), describe_fields(i["fields"])[:100],
             "removed " + i["removed_at"][:10] if i["removed_at"] else ""] for i in items]
    write_table(rows, ["first seen (UTC)", "signatory", ""], out)


def _print_breakdown(found: Any, fmt: str, csv_raw: bool) -> None:
    out = sys.stdout
    if fmt == "json":
        click.echo(dumps_json({"by": found.by, "total": found.total,
                               "lines": [line.as_json() for line in found.lines]}, indent=2))
        return
    if fmt == "csv":
        items = ({"label": line.label, "code": line.code, "count": line.count,
                  "known": line.known, "spellings": " | ".join(line.spellings)}
                 for line in found.lines)
        write_csv(items, ["label", "code", "count", "known", "spellings"], out,
                  safe=not csv_raw)
        return
    def share(count: int) -> str:
        return f"{100 * count / found.total:.1f} %" if found.total else ""

    rows = [[one_line(line.label if line.known else f"{line.label or '(blank)'} (unknown)",
                      60), line.code or "", f"{line.count:,}", share(line.count),
             one_line(", ".join(line.spellings[:4]), 60) if found.by != "role" else ""]
            for line in found.lines]
    rows.append(["total", "", f"{found.total:,}", "", ""])
    write_table(rows, [found.by, "code", "count", "share", "as written"], out)


@click.command()
@click.argument("url")
@config_option
@format_option("text", "json")
@click.option("--rows", "show", type=click.IntRange(min=0), default=5, show_default=True,
              help="How many signatory rows to show.")
def probe(url: str, config_file: str | None, fmt: str, show: int) -> None:
    """Fetch URL and show what lettermon would read there; writes nothing."""
    from urllib.parse import urlsplit

    from lettermon.cli.logs import configure_logging
    from lettermon.settings import HttpSettings, config_path
    from lettermon.watch.probe import probe as read_page

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Failed(f"{url} is not a web address: give an http:// or https:// URL",
                     EXIT_USAGE)
    with errors_to_exit_codes():
        path = config_path(config_file)
        wired = wiring()
        settings = wired.load(path) if path.is_file() else None
        configure_logging(settings.log_format if settings else "auto",
                          level((settings.log_level if settings else None) or "WARNING"))
        http = settings.http if settings else HttpSettings()
        found = read_page(url, http, wired.registry.adapters, wired.transport)
    if fmt == "json":
        click.echo(dumps_json(found.as_json(show), indent=2))
        return
    for note in found.notes:
        click.echo(f"note:      {terminal_safe(note)}")
    parsed = found.parsed
    if parsed is None:
        _print_candidates(found)
        return
    click.echo(f"adapter:   {found.adapter}")
    click.echo(f"title:     {one_line(parsed.title or '')}")
    click.echo(f"count:     {parsed.count:,}" if parsed.count is not None else "count:     none")
    if parsed.state:
        click.echo(f"state:     {one_line(parsed.state)}")
    if parsed.count_only:
        click.echo("list:      none (count-only)")
    else:
        click.echo(f"per page:  {parsed.per_page}   pages: {parsed.last_page or 1}")
        click.echo(f"fields:    {one_line(', '.join(found.fields))}")
    for dimension, entries in found.breakdowns.items():
        click.echo(f"by {dimension}: {entries:,} entries (lettermon breakdown NAME --by "
                   f"{dimension})")
    for row in parsed.rows[:show]:
        click.echo(f"  - {describe_fields(dict(row.fields))}")
    if found.config:
        click.echo("\nto watch it, add to the config:\n")
        click.echo(terminal_safe(found.config, newlines=True).rstrip())


def _print_candidates(found: Any) -> None:
    what = ("numbers in the JSON (JMESPath)" if found.kind == "json" else
            'numbers next to words such as "signatures" (CSS selector)')
    if not found.candidates:
        click.echo(f"no adapter recognised the page, and it shows no {what}")
        raise Failed("nothing to suggest: if the page fills its count in with JavaScript, "
                     "probe the JSON address its browser network tab shows", EXIT_FAILED)
    click.echo(f"no adapter recognised the page; {what}, likeliest first:")
    for candidate in found.candidates:
        where = ", ".join(f"{k} = {v}" for k, v in candidate.settings.items())
        click.echo(terminal_safe(f"  {candidate.value:>12,}  {where}   "
                                 f"“{one_line(candidate.context, 60)}”"))
    click.echo(f"\nto watch the likeliest ({found.candidates[0].value:,}), add to the "
               "config:\n")
    click.echo(terminal_safe(found.config or "", newlines=True).rstrip())


@click.command()
@click.argument("name")
@config_option
def accept(name: str, config_file: str | None) -> None:
    """Believe the fall in letter NAME's count that the last polls held as suspect."""
    with errors_to_exit_codes(), opened(config_file, names=[name]) as app:
        suspect = app.accept(name)
        known = app.state(name).last_count
    shown = "none" if suspect.count is None else f"{suspect.count:,}"
    click.echo(terminal_safe(
        f"{name}: the next poll will believe the count the page shows, however far it fell "
        f"(known: {known:,}; last suspect poll: {shown} at {suspect.at[:19].replace('T', ' ')} "
        f"UTC). Run lettermon check {name}, or let lettermon run poll it."
        if known is not None else f"{name}: the next poll will believe the page's count."))


COMMANDS = (check, history, signatories, probe, accept)
