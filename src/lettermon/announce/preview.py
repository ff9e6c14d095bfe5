"""``post --dry-run``: what would go out now on every channel, with its counted length.

Due outbox entries are shown as they would be sent, with what holds them; a channel with
nothing due shows a sample of its milestone template for the letter's next milestone.
Nothing is sent or written.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from lettermon import clock as clocks
from lettermon.announce.announcer import Announcer
from lettermon.announce.channels.base import Channel
from lettermon.announce.milestones import next_threshold
from lettermon.announce.sender import Sender
from lettermon.models import PostKind
from lettermon.settings import Settings
from lettermon.store import Store


@dataclass(frozen=True)
class Preview:
    letter: str
    channel: str
    kind: PostKind
    milestone: int | None
    text: str
    length: int
    limit: int
    due: bool
    held: str | None
    id: int | None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def preview(settings: Settings, store: Store, announcer: Announcer, sender: Sender,
            networks: Mapping[str, type[Channel]], letters: Collection[str],
            now: datetime) -> list[Preview]:
    """Due entries as they would go out; where none is due, a sample of each template."""
    items: list[Preview] = []
    by_name = {c.name: c for c in settings.channels}
    for entry in store.outbox.due(clocks.iso(now)):
        channel = by_name.get(entry.channel)
        if entry.letter not in letters or channel is None:
            continue
        network = networks[channel.kind]
        held = sender.hold_reason(entry)
        items.append(Preview(entry.letter, entry.channel, entry.kind, entry.milestone,
                             entry.text, network.length(entry.text), network.limit, True,
                             held[0] if held else None, entry.id))
    covered = {(i.letter, i.channel) for i in items}
    for letter in settings.letters:
        if letter.name not in letters:
            continue
        state = store.letters.get(letter.name)
        count = state.last_count if state and state.last_count is not None else 0
        sample = next_threshold(letter.milestones, count) or count
        figures = announcer.figures(letter, state.id if state else None, max(count, sample),
                                    sample, clocks.iso(now))
        for channel in settings.announcing(letter.name):
            if (letter.name, channel.name) in covered:
                continue
            network = networks[channel.kind]
            text = announcer.render(channel, PostKind.MILESTONE, figures, [],
                                    letter_locale=letter.locale)
            items.append(Preview(letter.name, channel.name, PostKind.MILESTONE, sample, text,
                                 network.length(text), network.limit, False, None, None))
    return items
