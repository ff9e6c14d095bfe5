"""Time as lettermon stores it (ISO 8601 UTC text that sorts as time), and the clock type.

Every part that needs "now" takes a :data:`Clock`, passed in by the composition root
(:func:`lettermon.app.open_app`), so tests give a clock of their own instead of patching.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]
"""Returns the current time, timezone-aware."""


def system_clock() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def parse_since(text: str, reference: datetime) -> datetime:
    """``--since`` values: an ISO date or time, or a duration back from now ("24h", "7d")."""
    from lettermon.durations import parse_duration

    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return reference - timedelta(seconds=parse_duration(text))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
