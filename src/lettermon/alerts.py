"""Operator alerts: once after N failed polls in a row, once on recovery, nothing between.

A poll hook, so an alert is queued in the same transaction as the poll that earned it,
and goes out through the outbox like any post (to channels marked ``operator = true``).
"""

from __future__ import annotations

import logging

from lettermon.outbox import Entry, Ledger
from lettermon.settings import LetterSettings, Settings
from lettermon.store.repo import LetterState, PollRecord, Store

log = logging.getLogger(__name__)

OK_OUTCOMES = ("ok", "unchanged")


def failure_kind(outcome: str, error: str | None) -> str:
    if outcome == "blocked":
        return "blocked"
    if outcome == "suspect":
        return "suspect count"
    if outcome == "partial":
        return "partial crawl"
    if error and error.startswith("layout changed"):
        return "layout changed"
    return "network"


class Alerts:
    def __init__(self, settings: Settings, store: Store, ledger: Ledger) -> None:
        self._after = settings.alerts.after_failures
        self._operators = [c.name for c in settings.channels if c.operator]
        self._store = store
        self._ledger = ledger

    def failing_streak(self, letter_id: int, before_id: int | None = None) -> int:
        """How many polls in a row, up to ``before_id`` (inclusive), were not successful."""
        sql = ("SELECT outcome FROM polls WHERE letter_id = ? AND outcome <> 'running'"
               + (" AND id <= ?" if before_id is not None else "") + " ORDER BY id DESC LIMIT ?")
        params: tuple[object, ...] = (letter_id,)
        if before_id is not None:
            params += (before_id,)
        streak = 0
        for (outcome,) in self._store.db.all(sql, (*params, 1000)):
            if outcome in OK_OUTCOMES:
                break
            streak += 1
        return streak

    def after_poll(self, letter: LetterSettings, state: LetterState, poll_id: int,
                   record: PollRecord) -> None:
        if record.outcome in OK_OUTCOMES:
            if self.failing_streak(state.id, poll_id - 1) >= self._after:
                self._queue(state, letter.name, "recovery", poll_id, record.at,
                            f"lettermon: {letter.name} works again: "
                            f"{record.count:,} signatures." if record.count is not None
                            else f"lettermon: {letter.name} works again.")
            return
        if self.failing_streak(state.id) == self._after:  # exactly the Nth: alert once
            kind = failure_kind(record.outcome, record.error)
            self._queue(state, letter.name, "alert", poll_id, record.at,
                        f"lettermon: {letter.name} has failed {self._after} polls in a row "
                        f"({kind}). Last error: {record.error or record.outcome}")

    def post_given_up(self, entry: Entry, error: str, at: str) -> None:
        """A post that will not go out is an operator's problem too (never for alerts)."""
        if entry.kind in ("alert", "recovery"):
            return
        self._queue_for(entry.letter_id, entry.letter, "alert", None, at,
                        f"lettermon: gave up posting {entry.kind} "
                        f"{entry.milestone or ''} for {entry.letter} to {entry.channel}: "
                        f"{error}", scope=f"post-{entry.id}")

    def _queue(self, state: LetterState, letter: str, kind: str, poll_id: int, at: str,
               text: str) -> None:
        self._queue_for(state.id, letter, kind, poll_id, at, text, scope=f"poll-{poll_id}")

    def _queue_for(self, letter_id: int, letter: str, kind: str, poll_id: int | None, at: str,
                   text: str, *, scope: str) -> None:
        log.warning("%s", text, extra={"letter": letter, "event": kind})
        for channel in self._operators:
            self._ledger.queue(letter_id=letter_id, letter=letter, kind=kind, milestone=None,
                               channel=channel, text=text, count=None, poll_id=poll_id, at=at,
                               scope=scope)
