"""Is lettermon well? Recent successful polls for every letter, no post given up."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lettermon import clock
from lettermon.durations import format_duration
from lettermon.outbox import Ledger
from lettermon.schedule import allowed_age
from lettermon.settings import Settings
from lettermon.store.repo import Store


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
    from lettermon.alerts import Alerts, failure_kind

    alerts = Alerts(settings, store, Ledger(store.db))
    health = Health()
    for letter in settings.letters:
        allowed = allowed_age(letter)
        state = store.letter(letter.name)
        last_ok = last = None
        if state is not None:
            last_ok = store.db.one(
                "SELECT at, count FROM polls WHERE letter_id = ? AND outcome IN "
                "('ok', 'unchanged') ORDER BY id DESC LIMIT 1", (state.id,))
            last = store.db.one(
                "SELECT at, outcome, error FROM polls WHERE letter_id = ? AND outcome <> "
                "'running' ORDER BY id DESC LIMIT 1", (state.id,))
        age = (now - clock.parse_iso(last_ok[0])).total_seconds() if last_ok else None
        streak = alerts.failing_streak(state.id) if state is not None else 0
        failing = streak >= settings.alerts.after_failures
        fine = age is not None and age <= allowed and not failing
        health.letters.append({
            "name": letter.name, "ok": fine, "last_success": last_ok[0] if last_ok else None,
            "count": last_ok[1] if last_ok else None, "age_seconds": age,
            "allowed_seconds": allowed, "last_outcome": last[1] if last else None,
            "last_error": last[2] if last else None, "failed_in_a_row": streak})
        if fine:
            continue
        why = f"; last poll {last[1]}: {last[2]}" if last and last[2] else ""
        if failing and last:
            health.problems.append(f"{letter.name}: {streak} polls in a row failed "
                                   f"({failure_kind(last[1], last[2])}){why}")
        elif age is None:
            health.problems.append(f"{letter.name}: no successful poll yet{why}")
        else:
            health.problems.append(
                f"{letter.name}: last successful poll {format_duration(round(age))} ago "
                f"(allowed {format_duration(round(allowed))}){why}")
    for entry in Ledger(store.db).entries(statuses=("given_up",)):
        health.given_up.append(entry.as_json())
        health.problems.append(f"outbox entry {entry.id} ({entry.letter} → {entry.channel}) "
                               f"gave up: {entry.error}")
    return health
