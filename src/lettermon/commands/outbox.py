"""``outbox``, ``post`` and ``chart``: what was posted where, and what would go out."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from lettermon.commands.common import (
    EXIT_FAILED,
    Failed,
    config_option,
    errors_to_exit_codes,
    format_option,
    load,
)
from lettermon.output import dumps_json, one_line, terminal_safe, write_json_array, write_table

if TYPE_CHECKING:
    from lettermon.app import App


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
    from lettermon.app import open_store
    from lettermon.outbox import Ledger

    with errors_to_exit_codes():
        settings = load(config_file)
        if name:
            settings.letter(name)
        store = open_store(settings)
        try:
            entries = Ledger(store.db).entries(name)
        finally:
            store.db.close()
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
    from lettermon import clock
    from lettermon.app import open_store
    from lettermon.outbox import Ledger

    with errors_to_exit_codes():
        settings = load(config_file)
        store = open_store(settings)
        try:
            ledger = Ledger(store.db)
            now = clock.iso(clock.now())
            entry = ledger.retry(entry_id, now) if action == "retry" else ledger.cancel(
                entry_id, now)
        finally:
            store.db.close()
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
    from lettermon.app import build_app
    from lettermon.lock import run_lock

    with errors_to_exit_codes():
        settings = load(config_file)
        letters = {settings.letter(name).name} if name else {x.name for x in settings.letters}
        with build_app(settings) as app:
            if dry_run:
                items = _preview(app, letters)
            else:
                with run_lock(settings, app.store.db):
                    from lettermon.commands.letters import describe_delivery

                    for delivery in app.sender.send_due(letters):
                        click.echo(describe_delivery(delivery))
                    return
    if fmt == "json":
        click.echo(dumps_json(items, indent=2))
        return
    if not items:
        click.echo("nothing to post: no channels for these letters")
    for item in items:
        state = "due now" if item["due"] and not item["held"] else (
            f"held: {item['held']}" if item["held"] else "preview (nothing due)")
        click.echo(f"{item['letter']} → {item['channel']} ({item['kind']}, "
                   f"{item['length']}/{item['limit']} characters, {state}):")
        click.echo(terminal_safe("  " + item["text"].replace("\n", "\n  "), newlines=True))


def _preview(app: App, letters: set[str]) -> list[dict[str, Any]]:
    """Due entries as they would go out; where none is due, a sample of each template."""
    from lettermon import clock
    from lettermon.announce import channels_for
    from lettermon.textlength import measure

    items: list[dict[str, Any]] = []
    due = [e for e in app.ledger.due(clock.iso(clock.now())) if e.letter in letters]
    settings_by_name = {c.name: c for c in app.settings.channels}
    for entry in due:
        channel = settings_by_name.get(entry.channel)
        if channel is None:
            continue
        limit, length = measure(channel.kind)
        held = app.sender.hold_reason(entry)
        items.append({"letter": entry.letter, "channel": entry.channel, "kind": entry.kind,
                      "milestone": entry.milestone, "text": entry.text,
                      "length": length(entry.text), "limit": limit, "due": True,
                      "held": held[0] if held else None, "id": entry.id})
    covered = {(i["letter"], i["channel"]) for i in items}
    for letter in app.settings.letters:
        if letter.name not in letters:
            continue
        state = app.store.letter(letter.name)
        count = state.last_count if state and state.last_count is not None else 0
        from lettermon.milestones import next_threshold

        sample = next_threshold(letter.milestones, count) or count
        figures = app.announcer.figures(letter, state.id if state else 0, max(count, sample),
                                        sample, clock.iso(clock.now()))
        for channel in channels_for(app.settings, letter.name):
            if (letter.name, channel.name) in covered:
                continue
            limit, length = measure(channel.kind)
            text = app.announcer.render(channel, "milestone", figures, [])
            items.append({"letter": letter.name, "channel": channel.name, "kind": "milestone",
                          "milestone": sample, "text": text, "length": length(text),
                          "limit": limit, "due": False, "held": None, "id": None})
    return items


@click.command()
@click.argument("name")
@config_option
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True),
              default=None, help="PNG file to write (default: NAME.png).")
def chart(name: str, config_file: str | None, output: str | None) -> None:
    """Draw letter NAME's signature count over time as a PNG."""
    from lettermon.app import open_store
    from lettermon.chart import render_png

    with errors_to_exit_codes():
        settings = load(config_file)
        settings.letter(name)
        store = open_store(settings)
        try:
            state = store.letter(name)
            image = render_png(store, state.id, title=name) if state else None
        finally:
            store.db.close()
    if image is None:
        raise Failed(f"{name} has no successful poll yet (run: lettermon check {name})",
                     EXIT_FAILED)
    path = output or f"{name}.png"
    with open(path, "wb") as handle:
        handle.write(image[0])
    click.echo(f"wrote {path} ({image[1]})")


COMMANDS = (outbox, post, chart)
