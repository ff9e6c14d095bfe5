"""From a successful poll to queued posts: milestones → figures → text per channel.

:class:`Announcer` is a poll hook: it runs inside the poll's transaction, so the milestone,
its posts and the poll that reached it are stored together or not at all.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import timedelta

from lettermon import clock as clocks
from lettermon.announce import milestones
from lettermon.announce.channels.base import Channel
from lettermon.announce.compose import Figures, render, template_for
from lettermon.models import PostKind, is_closed
from lettermon.settings import ChannelSettings, LetterSettings, Settings
from lettermon.store import LetterState, PollRecord, Store

log = logging.getLogger(__name__)

DRY_RUN_LIMIT = 500  # the length a post is fitted to when no channel is configured


def name_of(fields: dict[str, str], name_fields: Sequence[str]) -> str:
    keys = list(name_fields) or [k for k in fields if "name" in k.lower()] or list(fields)[:1]
    return " ".join(fields.get(k, "") for k in keys if fields.get(k))


def unmatched_name_fields(name_fields: Sequence[str], fields: Sequence[str]) -> list[str]:
    """A warning for each ``name_fields`` entry that none of ``fields`` (the fields the
    letter's rows have) is: that part of every name would vanish from posts."""
    if not fields:
        return []  # nothing read yet: nothing to compare with
    have = ", ".join(fields)
    return [f"name_fields entry {entry!r} matches no field of the letter's rows "
            f"(they have: {have})" for entry in name_fields if entry not in fields]


class Announcer:
    """The poll hook that records milestones and queues one post per channel."""

    def __init__(self, settings: Settings, store: Store,
                 networks: Mapping[str, type[Channel]]) -> None:
        self._settings = settings
        self._store = store
        self._networks = networks

    def after_poll(self, letter: LetterSettings, state: LetterState, poll_id: int,
                   record: PollRecord) -> None:
        if not record.outcome.ok or record.count is None:
            return  # failed, suspect and partial polls never trigger anything
        crossing = milestones.evaluate(self._store, letter, state.id, poll_id, record.count,
                                       record.at)
        posts = [(PostKind.MILESTONE, m) for m in crossing.announce]
        if crossing.launch:
            posts.append((PostKind.LAUNCH, milestones.LAUNCH))
        if (letter.milestones.final and is_closed(record.state)
                and self._store.polls.any_ok_besides(state.id, poll_id)):
            # closed since an earlier poll: news (closed before the first one is not)
            posts.append((PostKind.FINAL, milestones.FINAL))
        # Posts of earlier polls still waiting are old news; this poll's own posts are not
        # (with announce = "all" one poll queues several milestones, all to go out).
        lowest = min(crossing.announce, default=None)
        for kind, milestone in posts:
            self._queue(letter, state, poll_id, record, kind, milestone, lowest)

    def figures(self, letter: LetterSettings, letter_id: int | None, count: int,
                milestone: int | None, at: str) -> Figures:
        """What a post can say at ``at``, from the letter's history."""
        store = self._store
        state = store.letters.by_id(letter_id) if letter_id is not None else None
        title = letter.title  # the organiser's own text, posted as written
        if not title:  # the page's title is written by strangers
            from lettermon.announce.sanitize import clean_title

            title = (clean_title(state.title) if state and state.title else None) or letter.name
        first = store.polls.first_ok(letter_id) if letter_id is not None else None
        previous = (store.milestones.last_announced_below(letter_id, milestone or 0)
                    if letter_id is not None else None)
        now = clocks.parse_iso(at)
        since = previous or ((first.at, first.count) if first and first.count is not None
                             else None)
        rate = None
        if first is not None and first.count is not None:
            days = (now - clocks.parse_iso(first.at)).total_seconds() / 86400
            if days >= 1 / 24 and count > first.count:
                rate = (count - first.count) / days
        nxt = milestones.next_threshold(letter.milestones, milestone or count)
        eta = None
        if rate and nxt:
            eta = (now + timedelta(days=(nxt - count) / rate)).date()
        return Figures(
            name=letter.name, title=str(title), url=str(letter.url), noun=letter.noun,
            count=count, milestone=milestone or None,
            since_last_post=count - since[1] if since else None,
            took=now - clocks.parse_iso(since[0]) if since else None,
            rate_per_day=rate, next_milestone=nxt, next_eta=eta)

    def names(self, channel: ChannelSettings, letter: LetterSettings, letter_id: int,
              since: str | None) -> list[str]:
        if not channel.names or not channel.max_names:
            return []
        from lettermon.announce.sanitize import clean_names

        rows = self._store.signatories.recent_fields(letter_id, since=since,
                                                     limit=channel.max_names * 5)
        raw = [name_of(fields, letter.name_fields) for fields in rows]
        return clean_names(raw, max_length=channel.name_max_length,
                           blocklist=channel.blocklist, limit=channel.max_names)

    def render(self, channel: ChannelSettings | None, kind: PostKind, figures: Figures,
               names: list[str], *, letter_locale: str | None = None) -> str:
        """The post's text, fitted to the channel's limit as its network counts it, in the
        channel's locale, else the letter's."""
        locale = (channel.locale if channel else None) or letter_locale
        if channel is None:
            from lettermon.announce.textlength import plain_length

            return render(template_for(None, kind, locale), figures, names,
                          limit=DRY_RUN_LIMIT, length=plain_length, locale=locale)
        network = self._networks[channel.kind]
        return render(template_for(channel, kind, locale), figures, names,
                      limit=network.limit, length=network.length, locale=locale)

    def _queue(self, letter: LetterSettings, state: LetterState, poll_id: int,
               record: PollRecord, kind: PostKind, milestone: int,
               supersede_below: int | None) -> None:
        count = record.count or 0
        figures = self.figures(letter, state.id, count,
                               milestone if kind is PostKind.MILESTONE else None, record.at)
        since = None
        if figures.took is not None:
            since = clocks.iso(clocks.parse_iso(record.at) - figures.took)
        channels = self._settings.announcing(letter.name)
        if not channels:  # dry run: say what would have been posted
            text = self.render(None, kind, figures, [], letter_locale=letter.locale)
            log.warning("dry run (no [[channels]] configured for %s), would post: %s",
                        letter.name, text, extra={"letter": letter.name, "event": "dry_run"})
        outbox = self._store.outbox
        for channel in channels:
            text = self.render(channel, kind, figures,
                               self.names(channel, letter, state.id, since),
                               letter_locale=letter.locale)
            if kind is PostKind.MILESTONE and supersede_below is not None:
                outbox.supersede(state.id, channel.name, supersede_below, record.at)
            outbox.queue(letter_id=state.id, letter=letter.name, kind=kind,
                         milestone=milestone, channel=channel.name, text=text,
                         count=record.count, poll_id=poll_id, at=record.at)
