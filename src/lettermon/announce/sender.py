"""Sending what the outbox holds due, within every limit that says wait.

Holds (nothing is sent, the entry waits): quiet hours, the daily cap, X's monthly spend,
a count that has fallen back below the milestone, a channel without credentials (dry run).
Failures back off exponentially and honour rate-limit resets; permanent refusals and
too many attempts give up, which raises an operator alert.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from lettermon import clock as clocks
from lettermon.announce.channels.base import Channel, Post, Posted
from lettermon.errors import DuplicatePost, PostError, RateLimited
from lettermon.models import OutboxStatus, PostKind
from lettermon.settings import ChannelSettings, QuietHours, missing_secrets
from lettermon.store import Entry, Store

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
MAX_BACKOFF = timedelta(hours=6)


class DeliveryStatus(StrEnum):
    """What one attempt at a due entry came to."""

    SENT = "sent"
    FAILED = "failed"
    GIVEN_UP = "given_up"
    HELD = "held"  # not tried: a limit says wait (the entry stays as it was)


@dataclass(frozen=True)
class Delivery:
    """What happened to one due entry in this run."""

    entry: Entry
    status: DeliveryStatus
    remote_url: str | None = None
    reason: str | None = None


def quiet_until(quiet: QuietHours | None, now: datetime) -> datetime | None:
    """The end of the quiet window ``now`` falls in, or None outside quiet hours."""
    if quiet is None:
        return None
    from zoneinfo import ZoneInfo

    local = now.astimezone(ZoneInfo(quiet.timezone))
    start = local.replace(hour=quiet.start.hour, minute=quiet.start.minute, second=0,
                          microsecond=0)
    end = local.replace(hour=quiet.end.hour, minute=quiet.end.minute, second=0, microsecond=0)
    if start <= end:
        return end if start <= local < end else None
    if local >= start:
        return end + timedelta(days=1)
    return end if local < end else None


def backoff(attempts: int) -> timedelta:
    return min(MAX_BACKOFF, timedelta(minutes=2 ** max(0, attempts - 1)))


class Sender:
    """Sends due outbox entries through the channels, building each channel when first used.

    ``networks`` maps a channel kind to its class (the declaration the sender reads prices
    and spend limits from); ``build`` makes the channel for a ``[[channels]]`` entry.
    """

    def __init__(self, store: Store, channel_settings: Mapping[str, ChannelSettings],
                 networks: Mapping[str, type[Channel]],
                 build: Callable[[ChannelSettings], Channel], *,
                 clock: clocks.Clock = clocks.system_clock,
                 image: Callable[[Entry], tuple[bytes, str] | None] | None = None,
                 on_give_up: Callable[[Entry, str, str], None] | None = None) -> None:
        self._store = store
        self._ledger = store.outbox
        self._settings = channel_settings
        self._networks = networks
        self._build = build
        self._now = clock
        self._image = image
        self._on_give_up = on_give_up
        self._channels: dict[str, Channel] = {}

    def channel(self, name: str) -> Channel:
        if name not in self._channels:
            self._channels[name] = self._build(self._settings[name])
        return self._channels[name]

    def close(self) -> None:
        for channel in self._channels.values():
            channel.close()
        self._channels.clear()

    def send_due(self, letters: set[str] | None = None) -> list[Delivery]:
        deliveries = []
        for entry in self._ledger.due(clocks.iso(self._now())):
            if letters is not None and entry.letter not in letters:
                continue
            if entry.channel not in self._settings:
                deliveries.append(self._hold(entry, "the channel is no longer in the config",
                                             None))
                continue
            deliveries.append(self._deliver(entry))
        return deliveries

    def hold_reason(self, entry: Entry) -> tuple[str, datetime | None] | None:
        """Why ``entry`` must wait, and until when (None: until something changes)."""
        settings = self._settings[entry.channel]
        now = self._now()
        if entry.kind is PostKind.MILESTONE and entry.milestone:
            state = self._store.letters.by_id(entry.letter_id)
            count = state.last_count if state else None
            if count is not None and count < entry.milestone:
                return f"the count ({count:,}) is below {entry.milestone:,} again", None
        missing = missing_secrets(settings)
        if missing:
            return f"dry run: no credentials (set {', '.join(missing)})", None
        until = quiet_until(settings.quiet_hours, now)
        if until is not None:
            return f"quiet hours until {until:%H:%M %Z}", until
        day_ago = clocks.iso(now - timedelta(days=1))
        recent = self._ledger.sent_since(entry.channel, day_ago)
        if len(recent) >= settings.daily_cap:
            return (f"daily cap of {settings.daily_cap} posts reached",
                    clocks.parse_iso(recent[0][0]) + timedelta(days=1))
        network = self._networks[settings.kind]
        limit = network.monthly_spend_limit(settings)
        if limit is not None:
            month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
            spent = sum(cost for _, cost in self._ledger.sent_since(entry.channel,
                                                                    clocks.iso(month)))
            cost = network.price(settings, entry.text)
            if spent + cost > limit + 1e-9:
                next_month = (month + timedelta(days=32)).replace(day=1)
                return (f"monthly spend limit reached (${spent:.2f} of ${limit:.2f})",
                        next_month)
        return None

    def cost(self, entry: Entry) -> float:
        settings = self._settings[entry.channel]
        return self._networks[settings.kind].price(settings, entry.text)

    def _hold(self, entry: Entry, reason: str, until: datetime | None) -> Delivery:
        now = clocks.iso(self._now())
        if entry.error != reason or (until and entry.next_attempt_at != clocks.iso(until)):
            self._ledger.update(entry.id, now, error=reason,
                                next_attempt_at=clocks.iso(until) if until else None)
        log.info("holding post %s to %s: %s", entry.id, entry.channel, reason,
                 extra={"letter": entry.letter, "event": "post_held", "channel": entry.channel})
        return Delivery(entry, DeliveryStatus.HELD, reason=reason)

    def _deliver(self, entry: Entry) -> Delivery:
        held = self.hold_reason(entry)
        if held is not None:
            return self._hold(entry, *held)
        now = clocks.iso(self._now())
        recovering = entry.status is OutboxStatus.SENDING  # a run died mid-send
        if not self._ledger.claim(entry, now):
            return Delivery(entry, DeliveryStatus.HELD, reason="claimed by another run")
        channel = self.channel(entry.channel)
        post = self._post(entry)
        log.debug("sending outbox entry %d (%s of %s) to %s, attempt %d%s", entry.id,
                  entry.kind, entry.letter, entry.channel, entry.attempts + 1,
                  ", after a run that died mid-send" if recovering else "",
                  extra={"letter": entry.letter, "channel": entry.channel, "event": "sending"})
        try:
            posted = channel.find_existing(post) if recovering else None
            if posted is None:
                posted = channel.send(post)
        except DuplicatePost as exc:
            posted = (Posted(exc.remote_id, exc.remote_url) if exc.remote_id
                      else channel.find_existing(post) or Posted("duplicate"))
        except RateLimited as exc:
            wait = (timedelta(seconds=exc.retry_after) if exc.retry_after
                    else backoff(entry.attempts + 1))
            return self._failed(entry, str(exc), wait, give_up=False)
        except PostError as exc:
            return self._failed(entry, str(exc), backoff(entry.attempts + 1),
                                give_up=exc.permanent or entry.attempts + 1 >= MAX_ATTEMPTS)
        cost = self.cost(entry)
        self._ledger.update(entry.id, clocks.iso(self._now()), status=OutboxStatus.SENT,
                            remote_id=posted.remote_id, remote_url=posted.remote_url,
                            sent_at=clocks.iso(self._now()), error=None, cost=cost,
                            next_attempt_at=None)
        log.info("posted %s to %s%s", entry.kind, entry.channel,
                 f": {posted.remote_url}" if posted.remote_url else "",
                 extra={"letter": entry.letter, "event": "posted", "channel": entry.channel})
        return Delivery(entry, DeliveryStatus.SENT, posted.remote_url)

    def _post(self, entry: Entry) -> Post:
        state = self._store.letters.by_id(entry.letter_id)
        image = None
        if (self._image and entry.kind is PostKind.MILESTONE
                and self._settings[entry.channel].image):
            image = self._image(entry)
        milestone = entry.milestone if entry.kind is PostKind.MILESTONE else None
        return Post(key=entry.key, text=entry.text, letter=entry.letter,
                    milestone=milestone, count=entry.count or 0,
                    url=str(state.url if state else ""),
                    image=image[0] if image else None, image_alt=image[1] if image else None)

    def _failed(self, entry: Entry, error: str, wait: timedelta, *, give_up: bool) -> Delivery:
        now = self._now()
        status = OutboxStatus.GIVEN_UP if give_up else OutboxStatus.FAILED
        self._ledger.update(entry.id, clocks.iso(now), status=status, error=error,
                            next_attempt_at=None if give_up else clocks.iso(now + wait))
        if give_up and self._on_give_up is not None:
            with self._store.transaction():
                self._on_give_up(entry, error, clocks.iso(now))
        log.warning("post %s to %s %s: %s", entry.id, entry.channel,
                    "given up" if give_up else "failed", error,
                    extra={"letter": entry.letter, "event": f"post_{status}",
                           "channel": entry.channel})
        return Delivery(entry, DeliveryStatus(status), reason=error)
