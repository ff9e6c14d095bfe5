"""``outbox`` and ``post``: what was posted where, and what would go out."""

from __future__ import annotations

import sys

import click

from lettermon.cli.common import config_option, errors_to_exit_codes, format_option, opened
from lettermon.cli.letters import delivery_json, describe_delivery, print_warnings
from lettermon.cli.output import (
    dumps_json,
    one_line,
    terminal_safe,
    write_json_array,
    write_table,
)


class _OutboxGroup(click.Group):
    """``outbox [NAME]`` lists; ``outbox retry ID`` and ``outbox cancel ID`` act."""

    def resolve_command(self, ctx: click.Context, args: list[str]
                        ) -> tuple[str | None, click.Command | None, list[str]]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            return "list", self.commands["list"], args
        return super().resolve_command(ctx, args)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0].startswith("-") and args[0] not in ("-h", "--help")):
            args = ["list", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_OutboxGroup)
def outbox() -> None:
    """The ledger of posts: outbox [NAME], outbox retry ID, outbox cancel ID."""


@outbox.command("list")
@click.argument("name", required=False)
@config_option
@format_option("table", "json")
def outbox_list(name: str | None, config_file: str | None, fmt: str) -> None:
    """List the outbox, oldest first (of letter NAME only, if given)."""
    with errors_to_exit_codes(), opened(config_file, names=[name], read_only=True) as app:
        entries = app.outbox(name)
    if fmt == "json":
        write_json_array((e.as_json() for e in entries), sys.stdout)
        return
    rows = [[str(e.id), e.letter, e.channel, _what(e.kind, e.milestone), e.status,
             str(e.attempts), one_line(e.remote_url or e.error or "", 60)] for e in entries]
    write_table(rows, ["id", "letter", "channel", "post", "status", "tries", "url / error"],
                sys.stdout)


def _what(kind: str, milestone: int | None) -> str:
    return f"{milestone:,}" if kind == "milestone" and milestone else kind


def _change(action: str, entry_id: int, config_file: str | None) -> None:
    with errors_to_exit_codes(), opened(config_file) as app:
        entry = app.retry(entry_id) if action == "retry" else app.cancel(entry_id)
    click.echo(f"outbox entry {entry.id} ({entry.letter} → {entry.channel}) is now "
               f"{entry.status}")


@outbox.command("retry")
@click.argument("entry_id", metavar="ID", type=int)
@config_option
def outbox_retry(entry_id: int, config_file: str | None) -> None:
    """Send entry ID again at the next run (failed, given-up or cancelled entries)."""
    _change("retry", entry_id, config_file)


@outbox.command("cancel")
@click.argument("entry_id", metavar="ID", type=int)
@config_option
def outbox_cancel(entry_id: int, config_file: str | None) -> None:
    """Never send entry ID."""
    _change("cancel", entry_id, config_file)


@click.command()
@click.argument("name", required=False)
@config_option
@format_option("text", "json")
@click.option("--dry-run", is_flag=True,
              help="Show what would go out now, with its counted length; send nothing.")
def post(name: str | None, config_file: str | None, fmt: str, dry_run: bool) -> None:
    """Send the posts that are due now (of letter NAME only, if given)."""
    with errors_to_exit_codes(), opened(config_file, names=[name],
                                        console_to_stderr=fmt == "json") as app:
        letters = [letter.name for letter in app.letters([name] if name else [])]
        if not dry_run:
            with app.run_lock():
                deliveries = app.send_due(letters)
            if fmt == "json":
                click.echo(dumps_json([delivery_json(d) for d in deliveries], indent=2))
            for delivery in deliveries if fmt == "text" else ():
                click.echo(describe_delivery(delivery))
            if fmt == "text" and not deliveries:
                click.echo("nothing is due")
            return
        items = app.preview(letters)
        for letter in letters:  # with JSON on standard output, warnings go to stderr
            print_warnings(letter, app.warnings(letter), err=fmt == "json")
    if fmt == "json":
        click.echo(dumps_json([i.as_json() for i in items], indent=2))
        return
    if not items:
        click.echo("nothing to post: no channels for these letters")
    for item in items:
        state = "due now" if item.due and not item.held else (
            f"held: {item.held}" if item.held else "preview (nothing due)")
        click.echo(f"{item.letter} → {item.channel} ({item.kind}, "
                   f"{item.length}/{item.limit} characters, {state}):")
        click.echo(terminal_safe("  " + item.text.replace("\n", "\n  "), newlines=True))


COMMANDS = (outbox, post)
