"""Is lettermon well? Recent successful polls for every letter, no post given up."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from lettermon import clock as clocks
from lettermon.durations import format_duration
from lettermon.models import OutboxStatus
from lettermon.run.alerts import failure_kinds
from lettermon.run.schedule import allowed_age, period_seconds
from lettermon.settings import Settings
from lettermon.store import Store
from lettermon.store.leases import LeaseView


@dataclass
class Health:
    letters: list[dict[str, Any]] = field(default_factory=list)
    given_up: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    workers: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "problems": self.problems, "letters": self.letters,
                "given_up": self.given_up, "workers": self.workers}


def check_health(settings: Settings, store: Store, now: datetime) -> Health:
    """Problems: a letter polled too long ago or overdue, whichever worker owns it; a letter
    failing (as alerted); a post given up; a worker that stopped renewing its leases while
    it still holds some. A closed letter is polled no more, so the age of its last poll is
    no problem."""
    health = Health()
    schedule = {s.name: s for s in store.leases.schedule()}
    for letter in settings.letters:
        allowed = allowed_age(letter)
        state = store.letters.get(letter.name)
        if not (state and state.closed):  # a closed letter is due no more
            _overdue(health, letter.name, schedule.get(letter.name), period_seconds(letter),
                     now)
        last_ok = store.polls.latest_ok(state.id) if state else None
        last = store.polls.latest(state.id) if state else None
        streak = store.polls.failing_streak(state.id) if state else 0
        age = (now - clocks.parse_iso(last_ok.at)).total_seconds() if last_ok else None
        failing = streak >= settings.alerts.after_failures
        closed = state is not None and state.closed and not failing
        fine = closed or (age is not None and age <= allowed and not failing)
        health.letters.append({
            "name": letter.name, "ok": fine, "closed": closed,
            "last_success": last_ok.at if last_ok else None,
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
    _workers(health, store, schedule, now)
    for entry in store.outbox.entries(statuses=(OutboxStatus.GIVEN_UP,)):
        health.given_up.append(entry.as_json())
        health.problems.append(f"outbox entry {entry.id} ({entry.letter} → {entry.channel}) "
                               f"gave up: {entry.error}")
    return health


def _overdue(health: Health, name: str, due: LeaseView | None, period: float,
             now: datetime) -> None:
    """A letter due for longer than its period is not being polled, whatever the reason."""
    if due is None or due.next_due is None:
        return
    late = (now - clocks.parse_iso(due.next_due)).total_seconds()
    if late > max(period, 60.0):
        holder = f", held by {due.owner}" if due.owner else ", held by no worker"
        health.problems.append(f"{name}: due since {due.next_due[:19].replace('T', ' ')} UTC "
                               f"({format_duration(round(late))} ago{holder})")


def _workers(health: Health, store: Store, schedule: dict[str, LeaseView],
             now: datetime) -> None:
    holding: dict[str, list[str]] = {}
    for name, due in schedule.items():
        if due.owner:
            holding.setdefault(due.owner, []).append(name)
    for worker in store.workers.since(clocks.iso(now - timedelta(days=1))):
        silent = (now - clocks.parse_iso(worker.beat_at)).total_seconds()
        alive = worker.stopped_at is None and silent <= worker.lease_seconds
        held = sorted(holding.get(worker.id, []))
        health.workers.append({
            "id": worker.id, "host": worker.host, "pid": worker.pid,
            "started_at": worker.started_at, "beat_at": worker.beat_at,
            "stopped_at": worker.stopped_at, "alive": alive, "letters": held})
        if worker.stopped_at is None and not alive and held:
            health.problems.append(
                f"worker {worker.id} stopped renewing its leases "
                f"{format_duration(round(silent))} ago, holding {', '.join(held)} "
                "(another worker takes them over once the leases expire)")

