"""Milestone rules: which thresholds a confirmed count has crossed, announced once ever.

Evaluated inside the transaction of each successful poll. A milestone is reached when the
last ``confirm_polls`` successful polls all reached it; thresholds already behind the
count on a letter's first successful poll are recorded without posting.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from lettermon.settings import LetterSettings, MilestoneSettings
from lettermon.store import Store

log = logging.getLogger(__name__)

LAUNCH = 0  # the milestone number a launch post is filed under
FINAL = 0  # and a final post (its kind tells them apart)


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
    launch: bool = False


def evaluate(store: Store, letter: LetterSettings, letter_id: int, poll_id: int, count: int,
             at: str) -> Crossing:
    """Record the milestones this poll confirms; return what should be posted."""
    rules = letter.milestones
    successes = store.polls.recent_ok_counts(letter_id, rules.confirm_polls)
    highest = store.milestones.highest(letter_id)
    if not store.polls.any_ok_besides(letter_id, poll_id):  # the letter's first success
        passed = thresholds(rules, highest, count)
        store.milestones.record(letter_id, silent=passed, announced=(), poll_id=poll_id,
                                count=count, at=at)
        return Crossing(launch=rules.launch)
    if len(successes) < rules.confirm_polls:
        return Crossing()
    confirmed = min(successes)
    crossed = thresholds(rules, highest, confirmed)
    if not crossed:
        return Crossing()
    announce = crossed if rules.announce == "all" else crossed[-1:]
    silent = [m for m in crossed if m not in announce]
    store.milestones.record(letter_id, silent=silent, announced=announce, poll_id=poll_id,
                            count=count, at=at)
    log.info("%s reached %s", letter.name, ", ".join(f"{m:,}" for m in crossed),
             extra={"letter": letter.name, "event": "milestone", "milestones": crossed})
    return Crossing(tuple(announce))
