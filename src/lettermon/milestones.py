"""Milestone rules: which thresholds a confirmed count has crossed, announced once ever.

Evaluated inside the transaction of each successful poll. A milestone is reached when the
last ``confirm_polls`` successful polls all reached it; thresholds already behind the
count on a letter's first successful poll are recorded without posting.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from lettermon.settings import LetterSettings, MilestoneSettings
from lettermon.store.repo import Store

log = logging.getLogger(__name__)

LAUNCH = 0  # the milestone number a launch post is filed under


def thresholds(rules: MilestoneSettings, above: int, upto: int) -> list[int]:
    """The milestones in ``(above, upto]``, ascending."""
    found = {m for m in rules.at if above < m <= upto}
    if rules.every:
        first = (above // rules.every + 1) * rules.every
        found.update(range(first, upto + 1, rules.every))
    return sorted(found)


def next_threshold(rules: MilestoneSettings, after: int) -> int | None:
    candidates = [m for m in rules.at if m > after]
    if rules.every:
        candidates.append((after // rules.every + 1) * rules.every)
    return min(candidates) if candidates else None


@dataclass(frozen=True)
class Crossing:
    """What one successful poll decided: milestones to announce, and a launch post."""

    announce: tuple[int, ...] = ()
    silent: tuple[int, ...] = ()
    launch: bool = False


def evaluate(store: Store, letter: LetterSettings, letter_id: int, poll_id: int, count: int,
             at: str) -> Crossing:
    """Record the milestones this poll confirms; return what should be posted."""
    rules = letter.milestones
    db = store.db
    successes = db.all(
        "SELECT count FROM polls WHERE letter_id = ? AND outcome IN ('ok', 'unchanged') "
        "AND count IS NOT NULL ORDER BY id DESC LIMIT ?", (letter_id, rules.confirm_polls))
    first_success = int(db.scalar(
        "SELECT COUNT(*) FROM polls WHERE letter_id = ? AND outcome IN ('ok', 'unchanged') "
        "AND id <> ?", (letter_id, poll_id)) or 0) == 0
    highest = int(db.scalar("SELECT COALESCE(MAX(milestone), 0) FROM milestones "
                            "WHERE letter_id = ?", (letter_id,)) or 0)
    if first_success:
        passed = thresholds(rules, highest, count)
        _record(store, letter_id, passed, (), poll_id, count, at)
        return Crossing(silent=tuple(passed), launch=rules.launch)
    if len(successes) < rules.confirm_polls:
        return Crossing()
    confirmed = min(int(c[0]) for c in successes)
    crossed = thresholds(rules, highest, confirmed)
    if not crossed:
        return Crossing()
    announce = crossed if rules.announce == "all" else crossed[-1:]
    silent = [m for m in crossed if m not in announce]
    _record(store, letter_id, silent, announce, poll_id, count, at)
    log.info("%s reached %s", letter.name, ", ".join(f"{m:,}" for m in crossed),
             extra={"letter": letter.name, "event": "milestone", "milestones": crossed})
    return Crossing(tuple(announce), tuple(silent))


def _record(store: Store, letter_id: int, silent: list[int] | tuple[int, ...],
            announced: list[int] | tuple[int, ...], poll_id: int, count: int, at: str) -> None:
    rows = [(letter_id, m, at, poll_id, count, 0) for m in silent]
    rows += [(letter_id, m, at, poll_id, count, 1) for m in announced]
    store.db.executemany(
        "INSERT INTO milestones (letter_id, milestone, reached_at, poll_id, count, announced) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (letter_id, milestone) DO NOTHING", rows)
