"""Due work and leases in the database, on SQLite and on PostgreSQL: what lets several
workers share one database without polling a letter twice at once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from lettermon.clock import iso
from lettermon.run.schedule import next_due
from lettermon.settings import LetterSettings
from lettermon.store import Store, open_store

T0 = "2026-01-01T00:00:00.000000Z"


def at(second: int) -> str:
    return iso(datetime(2026, 1, 1, tzinfo=UTC).replace(second=second % 60,
                                                        minute=second // 60))


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    with open_store(database_url, T0) as opened:
        yield opened


def letters(store: Store, *names: str) -> dict[str, int]:
    return {n: store.letters.ensure(n, f"https://l.example/{n}", T0).id for n in names}


def test_due_letters_are_claimed_once_longest_due_first(store: Store) -> None:
    ids = letters(store, "a", "b", "c", "d")
    store.leases.release("setup", ids["a"], at(30))
    store.leases.release("setup", ids["b"], at(10))
    store.leases.release("setup", ids["c"], at(50))  # not due yet at 40
    # "d" has never been polled: due at once, before the others
    first = store.leases.claim_due("w1", ["a", "b", "c", "d"], at(40), at(100), limit=2)
    assert [c.name for c in first] == ["d", "b"]
    assert (first[0].due_at, first[1].due_at) == (None, at(10))
    second = store.leases.claim_due("w2", ["a", "b", "c", "d"], at(40), at(100), limit=5)
    assert [c.name for c in second] == ["a"]  # b and d are held, c is not due
    assert store.leases.claim_due("w3", ["a", "b", "c", "d"], at(41), at(100), limit=5) == []


def test_a_lease_is_released_with_the_next_due_time(store: Store) -> None:
    ids = letters(store, "a")
    claimed = store.leases.claim_due("w1", ["a"], at(0), at(100), limit=1)
    store.leases.release("w1", claimed[0].letter_id, at(20))
    assert store.leases.claim_due("w2", ["a"], at(19), at(100), limit=1) == []
    again = store.leases.claim_due("w2", ["a"], at(20), at(100), limit=1)
    assert [(c.letter_id, c.due_at) for c in again] == [(ids["a"], at(20))]
    view = {v.name: v for v in store.leases.schedule()}["a"]
    assert (view.next_due, view.owner, view.until) == (at(20), "w2", at(100))


def test_the_lease_of_a_dead_worker_expires_and_is_taken_over(store: Store) -> None:
    letters(store, "a")
    assert store.leases.claim_due("dead", ["a"], at(0), at(30), limit=1)
    assert store.leases.claim_due("alive", ["a"], at(29), at(90), limit=1) == []
    taken = store.leases.claim_due("alive", ["a"], at(30), at(90), limit=1)
    assert [c.name for c in taken] == ["a"]
    store.leases.release("dead", taken[0].letter_id, at(59))  # too late: not its lease
    assert {v.name: v.owner for v in store.leases.schedule()} == {"a": "alive"}


def test_a_living_worker_renews_its_leases(store: Store) -> None:
    letters(store, "a", "b")
    store.leases.claim_due("w1", ["a", "b"], at(0), at(30), limit=2)
    assert store.leases.renew("w1", at(90)) == 2
    assert store.leases.claim_due("w2", ["a", "b"], at(60), at(120), limit=2) == []
    assert store.leases.release_all("w1") == 2
    assert len(store.leases.claim_due("w2", ["a", "b"], at(60), at(120), limit=2)) == 2


def test_a_check_claims_one_letter_and_names_who_holds_it(store: Store) -> None:
    ids = letters(store, "a")
    assert store.leases.claim("worker", ids["a"], at(0), at(60)) is None
    assert store.leases.claim("check", ids["a"], at(10), at(70)) == "worker"
    assert store.leases.claim("check", ids["a"], at(60), at(70)) is None  # expired: taken
    assert store.leases.clear() == 1


def test_only_configured_letters_are_claimed(store: Store) -> None:
    letters(store, "a", "gone")
    assert [c.name for c in store.leases.claim_due("w", ["a"], at(0), at(9), limit=5)] == ["a"]


def test_workers_are_recorded_and_forgotten(store: Store) -> None:
    store.workers.register("w1", "host-a", 11, at(0), 60.0)
    store.workers.register("w2", "host-b", 22, at(5), 60.0)
    store.workers.beat("w1", at(30))
    store.workers.stop("w2", at(40))
    seen = {w.id: w for w in store.workers.since(at(0))}
    assert (seen["w1"].beat_at, seen["w1"].stopped_at) == (at(30), None)
    assert seen["w2"].stopped_at == at(40)
    assert store.workers.forget(at(35)) == 1
    assert [w.id for w in store.workers.since(at(0))] == ["w2"]


@pytest.mark.postgres
def test_workers_claiming_at_once_never_claim_the_same_letter(pg_url: str) -> None:
    names = [f"l{i}" for i in range(40)]
    with open_store(pg_url, T0) as setup:
        letters(setup, *names)
    claims: dict[str, list[str]] = {}

    def claim(owner: str) -> None:
        with open_store(pg_url, T0) as mine:
            got: list[str] = []
            for _ in range(10):
                got += [c.name for c in mine.leases.claim_due(owner, names, at(0), at(60), 3)]
            claims[owner] = got

    threads = [threading.Thread(target=claim, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    everything = [name for got in claims.values() for name in got]
    assert sorted(everything) == sorted(names)  # each letter claimed exactly once
    assert all(claims.values())  # and every worker got some


# -- when a letter is next due -------------------------------------------------------------

def letter(**values: object) -> LetterSettings:
    from lettermon.registry import builtin_registry

    return builtin_registry().letter_settings(name="a", url="https://l.example/", **values)


def test_an_interval_letter_keeps_its_rhythm() -> None:
    five = letter(interval="5m")
    now = datetime(2026, 1, 1, 0, 5, 2, tzinfo=UTC)
    assert next_due(five, iso(datetime(2026, 1, 1, 0, 5, tzinfo=UTC)), now,
                    jitter=lambda most: 0) == iso(datetime(2026, 1, 1, 0, 10, tzinfo=UTC))


def test_a_letter_that_fell_behind_is_due_one_interval_from_now_once() -> None:
    five = letter(interval="5m")
    now = datetime(2026, 1, 1, 2, 0, tzinfo=UTC)  # the worker was down for two hours
    assert next_due(five, iso(datetime(2026, 1, 1, 0, 0, tzinfo=UTC)), now,
                    jitter=lambda most: 0) == iso(datetime(2026, 1, 1, 2, 5, tzinfo=UTC))


def test_a_cron_letter_takes_the_rules_next_time_and_jitter_stays_small() -> None:
    hourly = letter(cron="0 * * * *")
    now = datetime(2026, 1, 1, 3, 20, tzinfo=UTC)
    assert next_due(hourly, None, now, jitter=lambda most: 0) == iso(
        datetime(2026, 1, 1, 4, 0, tzinfo=UTC))
    spread = [next_due(letter(interval="100s"), None, now) for _ in range(50)]
    seconds = [(datetime.fromisoformat(s.replace("Z", "+00:00")) - now).total_seconds()
               for s in spread]
    assert all(100 <= s <= 110 for s in seconds) and len(set(seconds)) > 1
