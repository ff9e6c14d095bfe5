"""Operator alerts: once after N failed polls in a row, once on recovery, nothing between.

A poll hook, so an alert is queued in the same transaction as the poll that earned it,
and goes out through the outbox like any post (to channels marked ``operator = true``).
The alert names the failure's kind, as stored with the poll, never guessed from its text.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from lettermon import l10n
from lettermon.models import PostKind
from lettermon.settings import LetterSettings, Settings
from lettermon.store import Entry, LetterState, PollRecord, Store

log = logging.getLogger(__name__)


def failure_kinds(failed: Sequence[PollRecord]) -> str:
    """The kinds of these failed polls in words, the latest first, each once with how
    often it came: "blocked, HTTP error ×2"."""
    counts: dict[str, int] = {}
    for record in reversed(failed):
        label = record.kind.label if record.kind else str(record.outcome)
        counts[label] = counts.get(label, 0) + 1
    return ", ".join(label if n == 1 else f"{label} ×{n}" for label, n in counts.items())


class Alerts:
    def __init__(self, settings: Settings, store: Store) -> None:
        self._after = settings.alerts.after_failures
        self._operators = [(c.name, c.locale) for c in settings.operators()]
        self._locales = {letter.name: letter.locale for letter in settings.letters}
        self._store = store

    def after_poll(self, letter: LetterSettings, state: LetterState, poll_id: int,
                   record: PollRecord) -> None:
        polls = self._store.polls
        if record.outcome.ok:
            failed = polls.failing_streak(state.id, upto=poll_id - 1)
            if failed >= self._after:
                after = f"after {failed} failed poll{'s' if failed != 1 else ''}"
                count = record.count
                self._queue(state, letter.name, PostKind.RECOVERY, poll_id, record.at,
                            lambda locale: f"lettermon: {letter.name} works again {after}: "
                            f"{l10n.number(count, locale)} signatures." if count is not None
                            else f"lettermon: {letter.name} works again {after}.")
            return
        if polls.failing_streak(state.id) == self._after:  # exactly the Nth: alert once
            kinds = failure_kinds(polls.history(state.id, limit=self._after))
            what = (f"{letter.name}: a poll failed" if self._after == 1 else
                    f"{letter.name} has failed {self._after} polls in a row")
            self._queue(state, letter.name, PostKind.ALERT, poll_id, record.at,
                        lambda locale: f"lettermon: {what} ({kinds}). Last error: "
                        f"{record.error or record.outcome}")

    def after_poll_failed(self, letter: LetterSettings, state: LetterState, poll_id: int,
                          at: str, errors: Sequence[str]) -> None:
        """A step after the poll failed (the poll is stored): alert once a day per letter."""
        self._queue_for(state.id, letter.name, PostKind.ALERT, poll_id, at,
                        lambda locale: f"lettermon: {letter.name}: the poll is stored, but "
                        f"after it {'; '.join(errors)}", scope=f"after-poll-{at[:10]}")

    def post_given_up(self, entry: Entry, error: str, at: str) -> None:
        """A post that will not go out is an operator's problem too (never for alerts)."""
        if entry.kind.for_operators:
            return
        milestone = entry.milestone
        self._queue_for(entry.letter_id, entry.letter, PostKind.ALERT, None, at,
                        lambda locale: f"lettermon: gave up posting {entry.kind} "
                        f"{l10n.number(milestone, locale) if milestone else ''} for "
                        f"{entry.letter} to {entry.channel}: {error}", scope=f"post-{entry.id}")

    def _queue(self, state: LetterState, letter: str, kind: PostKind, poll_id: int, at: str,
               text: Callable[[str | None], str]) -> None:
        self._queue_for(state.id, letter, kind, poll_id, at, text, scope=f"poll-{poll_id}")

    def _queue_for(self, letter_id: int, letter: str, kind: PostKind, poll_id: int | None,
                   at: str, text: Callable[[str | None], str], *, scope: str) -> None:
        """Log the alert, and queue it for every operator channel, its numbers written in
        the channel's locale (else the letter's)."""
        log.warning("%s", text(None), extra={"letter": letter, "event": str(kind)})
        for channel, locale in self._operators:
            self._store.outbox.queue(letter_id=letter_id, letter=letter, kind=kind,
                                     milestone=None, channel=channel,
                                     text=text(locale or self._locales.get(letter)),
                                     count=None, poll_id=poll_id, at=at, scope=scope)
