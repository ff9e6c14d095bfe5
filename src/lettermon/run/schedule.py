"""When each letter is polled: ``interval`` ("5m") or ``cron`` ("*/10 * * * *")."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from lettermon.settings import LetterSettings


def trigger_for(letter: LetterSettings) -> Any:
    """An APScheduler trigger with a jitter of at most a tenth of the period."""
    if letter.cron:
        from apscheduler.triggers.cron import CronTrigger

        trigger = CronTrigger.from_crontab(letter.cron, timezone=UTC)
        trigger.jitter = max(1, int(period_seconds(letter) / 10))
        return trigger
    from apscheduler.triggers.interval import IntervalTrigger

    jitter = letter.interval / 10
    return IntervalTrigger(seconds=letter.interval, timezone=UTC,
                           jitter=jitter if jitter >= 0.1 else None)


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
