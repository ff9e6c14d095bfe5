"""From a successful poll to queued posts: milestones → figures → text per channel.

Runs inside the poll's transaction, so the milestone, its posts and the poll that reached
it are stored together or not at all.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from lettermon import clock, milestones
from lettermon.outbox import Ledger
from lettermon.settings import LetterSettings, Settings
from lettermon.store.repo import LetterState, PollRecord, Store

if TYPE_CHECKING:
    from lettermon.compose import Figures

log = logging.getLogger(__name__)

def channels_for(settings: Settings, letter: str) -> list[Any]:
    """The channels that announce this letter's milestones (operator channels do not)."""
    return [c for c in settings.channels
            if not c.operator and (c.letters is None or letter in c.letters)]


def template_for(channel: Any, kind: str) -> str:
    from lettermon import compose

    if kind == "launch":
        return channel.launch_template or compose.DEFAULT_LAUNCH_TEMPLATE
    if channel.template:
        return str(channel.template)
    if getattr(channel, "include_link", True):
        return compose.DEFAULT_TEMPLATE
    return compose.DEFAULT_TEMPLATE_NO_LINK


def name_of(fields: dict[str, str], name_fields: Sequence[str]) -> str:
    keys = list(name_fields) or [k for k in fields if "name" in k.lower()] or list(fields)[:1]
    return " ".join(fields.get(k, "") for k in keys if fields.get(k))


class Announcer:
    """The poll hook: records milestones and queues one post per channel."""

    def __init__(self, settings: Settings, store: Store, ledger: Ledger) -> None:
        self._settings = settings
        self._store = store
        self._ledger = ledger

    def after_poll(self, letter: LetterSettings, state: LetterState, poll_id: int,
                   record: PollRecord) -> None:
        if record.outcome not in ("ok", "unchanged") or record.count is None:
            return  # failed, suspect and partial polls never trigger anything
        crossing = milestones.evaluate(self._store, letter, state.id, poll_id, record.count,
                                       record.at)
        posts = [("milestone", m) for m in crossing.announce]
        if crossing.launch:
            posts.append(("launch", milestones.LAUNCH))
        # Posts of earlier polls still waiting are old news; this poll's own posts are not
        # (with announce = "all" one poll queues several milestones, all to go out).
        lowest = min(crossing.announce, default=None)
        for kind, milestone in posts:
            self._queue(letter, state, poll_id, record, kind, milestone, lowest)

    def figures(self, letter: LetterSettings, letter_id: int, count: int, milestone: int | None,
                at: str) -> Figures:
        from lettermon.compose import Figures

        db = self._store.db
        title = letter.title  # the organiser's own text, posted as written
        if not title:  # the page's title is written by strangers
            from lettermon.sanitize import clean_title

            page_title = db.scalar("SELECT title FROM letters WHERE id = ?", (letter_id,))
            title = (clean_title(str(page_title)) if page_title else None) or letter.name
        first = db.one("SELECT at, count FROM polls WHERE letter_id = ? AND outcome IN "
                       "('ok', 'unchanged') AND count IS NOT NULL ORDER BY id LIMIT 1",
                       (letter_id,))
        previous = db.one("SELECT reached_at, count FROM milestones WHERE letter_id = ? AND "
                          "announced = 1 AND milestone < ? ORDER BY milestone DESC LIMIT 1",
                          (letter_id, milestone or 0))
        now = clock.parse_iso(at)
        since = previous or first
        rate = None
        if first is not None:
            days = (now - clock.parse_iso(first[0])).total_seconds() / 86400
            if days >= 1 / 24 and count > first[1]:
                rate = (count - first[1]) / days
        nxt = milestones.next_threshold(letter.milestones, milestone or count)
        eta = None
        if rate and nxt:
            eta = (now + timedelta(days=(nxt - count) / rate)).date()
        return Figures(
            name=letter.name, title=str(title), url=str(letter.url), noun=letter.noun,
            count=count, milestone=milestone or None,
            since_last_post=count - since[1] if since else None,
            took=now - clock.parse_iso(since[0]) if since else None,
            rate_per_day=rate, next_milestone=nxt, next_eta=eta)

    def names(self, channel: Any, letter: LetterSettings, letter_id: int, since: str | None
              ) -> list[str]:
        if not channel.names or not channel.max_names:
            return []
        from lettermon.sanitize import clean_names

        rows = self._store.db.all(
            "SELECT fields FROM signatories WHERE letter_id = ? AND removed_at IS NULL "
            "AND first_seen >= ? ORDER BY id DESC LIMIT ?",
            (letter_id, since or "", channel.max_names * 5))
        raw = [name_of(json.loads(r[0]), letter.name_fields) for r in rows]
        return clean_names(raw, max_length=channel.name_max_length,
                           blocklist=channel.blocklist, limit=channel.max_names)

    def render(self, channel: Any, kind: str, figures: Figures, names: list[str]) -> str:
        from lettermon import compose
        from lettermon.textlength import measure

        limit, length = measure(channel.kind)
        return compose.render(template_for(channel, kind), figures, names, limit=limit,
                              length=length)

    def _queue(self, letter: LetterSettings, state: LetterState, poll_id: int,
               record: PollRecord, kind: str, milestone: int, supersede_below: int | None
               ) -> None:
        figures = self.figures(letter, state.id, record.count or 0,
                               milestone if kind == "milestone" else None, record.at)
        since = None
        if figures.took is not None:
            since = clock.iso(clock.parse_iso(record.at) - figures.took)
        channels = channels_for(self._settings, letter.name)
        if not channels:  # dry run: say what would have been posted
            from lettermon.settings import ConsoleChannel

            text = self.render(ConsoleChannel(name="dry-run", kind="console"), kind, figures,
                               [])
            log.warning("dry run (no [[channels]] configured for %s), would post: %s",
                        letter.name, text, extra={"letter": letter.name, "event": "dry_run"})
        for channel in channels:
            text = self.render(channel, kind, figures, self.names(channel, letter, state.id,
                                                                  since))
            if kind == "milestone" and supersede_below is not None:
                self._ledger.supersede(state.id, channel.name, supersede_below, record.at)
            self._ledger.queue(letter_id=state.id, letter=letter.name, kind=kind,
                               milestone=milestone, channel=channel.name, text=text,
                               count=record.count, poll_id=poll_id, at=record.at)
