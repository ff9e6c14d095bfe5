"""When each letter is polled: ``interval`` ("5m") or ``cron`` ("*/10 * * * *").

A letter's next due time is kept in the database (:mod:`lettermon.store.leases`), set by
whichever process polled it last, with :func:`next_due`."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from lettermon import clock as clocks
from lettermon.settings import LetterSettings


def period_seconds(letter: LetterSettings) -> float:
    """The time between two polls (for a cron rule: between its next two firings)."""
    if not letter.cron:
        return letter.interval
    from apscheduler.triggers.cron import CronTrigger

    trigger = CronTrigger.from_crontab(letter.cron, timezone=UTC)
    now = datetime.now(UTC)
    first = trigger.get_next_fire_time(None, now)
    second = trigger.get_next_fire_time(first, first)
    return float((second - first).total_seconds()) if first and second else 86400.0


def allowed_age(letter: LetterSettings) -> float:
    """How old the last successful poll may be before health complains."""
    return letter.max_age or 3 * period_seconds(letter)


def next_due(letter: LetterSettings, due_at: str | None, now: datetime,
             jitter: Callable[[float], float] = lambda most: random.uniform(0, most)  # noqa: S311
             ) -> str:
    """When the letter is due after a poll that was due at ``due_at``, ending ``now``.

    Interval letters keep their rhythm (the next is one interval after the last due time),
    and a letter that fell behind is next due one interval from now, once, not many times
    in a row; cron letters take the rule's next time. A random jitter of at most a tenth of
    the period spreads letters that share an interval.
    """
    period = period_seconds(letter)
    if letter.cron:
        from apscheduler.triggers.cron import CronTrigger

        fire = CronTrigger.from_crontab(letter.cron, timezone=UTC).get_next_fire_time(None, now)
        nxt = fire if fire is not None else now + timedelta(seconds=period)
    else:
        base = clocks.parse_iso(due_at) if due_at else now
        nxt = base + timedelta(seconds=period)
        if nxt <= now:
            nxt = now + timedelta(seconds=period)
    return clocks.iso(nxt + timedelta(seconds=jitter(period / 10)))
