"""Is lettermon well? Recent successful polls for every letter, no post given up."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lettermon import clock as clocks
from lettermon.durations import format_duration
from lettermon.models import OutboxStatus
from lettermon.run.alerts import failure_kinds
from lettermon.run.schedule import allowed_age
from lettermon.settings import Settings
from lettermon.store import Store


@dataclass
class Health:
    letters: list[dict[str, Any]] = field(default_factory=list)
    given_up: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "problems": self.problems, "letters": self.letters,
                "given_up": self.given_up}


def check_health(settings: Settings, store: Store, now: datetime) -> Health:
    """Problems: a letter polled too long ago, a letter failing (as alerted), a post given up."""
    health = Health()
    for letter in settings.letters:
        allowed = allowed_age(letter)
        state = store.letters.get(letter.name)
        last_ok = store.polls.latest_ok(state.id) if state else None
        last = store.polls.latest(state.id) if state else None
        streak = store.polls.failing_streak(state.id) if state else 0
        age = (now - clocks.parse_iso(last_ok.at)).total_seconds() if last_ok else None
        failing = streak >= settings.alerts.after_failures
        fine = age is not None and age <= allowed and not failing
        health.letters.append({
            "name": letter.name, "ok": fine, "last_success": last_ok.at if last_ok else None,
            "count": last_ok.count if last_ok else None, "age_seconds": age,
            "allowed_seconds": allowed, "last_outcome": last.outcome if last else None,
            "last_error": last.error if last else None, "failed_in_a_row": streak})
        if fine:
            continue
        why = f"; last poll {last.outcome}: {last.error}" if last and last.error else ""
        if failing and last and state:
            kinds = failure_kinds(store.polls.history(state.id, limit=streak))
            failed = "1 poll failed" if streak == 1 else f"{streak} polls in a row failed"
            health.problems.append(f"{letter.name}: {failed} ({kinds}){why}")
        elif age is None:
            health.problems.append(f"{letter.name}: no successful poll yet{why}")
        else:
            health.problems.append(
                f"{letter.name}: last successful poll {format_duration(round(age))} ago "
                f"(allowed {format_duration(round(allowed))}){why}")
    for entry in store.outbox.entries(statuses=(OutboxStatus.GIVEN_UP,)):
        health.given_up.append(entry.as_json())
        health.problems.append(f"outbox entry {entry.id} ({entry.letter} → {entry.channel}) "
                               f"gave up: {entry.error}")
    return health
