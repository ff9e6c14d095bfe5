"""The store's aggregates, called directly, on SQLite and on PostgreSQL alike.

Each test runs twice: on a fresh SQLite file and on a fresh PostgreSQL database (skipped,
saying so, where no server runs on 127.0.0.1:5432).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lettermon.errors import LockedError, NotFound, StoreError
from lettermon.models import CrawlKind, FailureKind, ListOrder, OutboxStatus, Outcome, PostKind, Row
from lettermon.store import PollRecord, Store, open_store

T0 = "2026-01-01T00:00:00.000000Z"


def at(minute: int) -> str:
    return f"2026-01-01T00:{minute:02d}:00.000000Z"


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    with open_store(database_url, T0) as opened:
        yield opened


def letter(store: Store, name: str = "rek") -> int:
    return store.letters.ensure(name, f"https://l.example/{name}", T0).id


def poll(store: Store, letter_id: int, minute: int, outcome: Outcome, count: int | None,
         **values: object) -> int:
    with store.transaction():
        poll_id = store.polls.start(letter_id, at(minute))
        store.polls.finish(poll_id, PollRecord(at=at(minute), count=count, outcome=outcome,
                                               **values))  # type: ignore[arg-type]
    return poll_id


def rows(*names: str) -> list[Row]:
    return [Row.of((("name", n),)) for n in names]


# -- letters -------------------------------------------------------------------------------

def test_a_letter_is_created_once_and_updated(store: Store) -> None:
    first = store.letters.ensure("rek", "https://l.example/", T0)
    again = store.letters.ensure("rek", "https://elsewhere.example/", at(1))
    assert first.id == again.id and again.url == "https://l.example/"
    assert (again.list_order, again.last_count, again.present) == (ListOrder.UNKNOWN, None, 0)
    with store.transaction():
        store.letters.update(first.id, last_count=479, list_order=ListOrder.NEWEST_FIRST,
                             title="Open Letter")
        locked = store.letters.lock(first.id)
    assert (locked.last_count, locked.list_order, locked.title) == (
        479, ListOrder.NEWEST_FIRST, "Open Letter")
    assert store.letters.get("nope") is None
    assert store.letters.by_id(first.id) == locked


def test_an_update_rolled_back_leaves_the_letter_as_it_was(store: Store) -> None:
    letter_id = letter(store)
    with pytest.raises(RuntimeError), store.transaction():
        store.letters.update(letter_id, last_count=5)
        raise RuntimeError("the poll failed")
    assert store.letters.lock(letter_id).last_count is None


# -- polls ---------------------------------------------------------------------------------

def test_a_savepoint_undoes_only_its_own_writes(store: Store) -> None:
    letter_id = letter(store)
    with store.transaction():
        store.letters.update(letter_id, title="kept")
        with pytest.raises(RuntimeError), store.savepoint():
            store.letters.update(letter_id, last_count=5)
            raise RuntimeError("a poll hook failed")
        # a driver error inside a savepoint leaves the transaction usable (on PostgreSQL
        # any error aborts the whole transaction unless it is rolled back to a savepoint)
        with pytest.raises(StoreError), store.savepoint():
            store.letters.update(letter_id, present=9)
            store.db.execute("INSERT INTO no_such_table VALUES (1)")
        with store.savepoint(), store.savepoint():  # nested, both kept
            store.letters.update(letter_id, per_page=25)
    state = store.letters.lock(letter_id)
    assert (state.title, state.last_count, state.present, state.per_page) == (
        "kept", None, 0, 25)


def test_a_savepoint_needs_a_transaction(store: Store) -> None:
    with pytest.raises(StoreError, match="inside a transaction"), store.savepoint():
        pass


def test_a_note_is_added_to_a_polls_error(store: Store) -> None:
    rek = letter(store)
    ok = poll(store, rek, 1, Outcome.OK, 5)
    failed = poll(store, rek, 2, Outcome.FAILED, None, error="HTTP 503")
    with store.transaction():
        store.polls.note(ok, "after the poll: Announcer failed: boom")
        store.polls.note(failed, "after the poll: Alerts failed: bang")
    assert [p.error for p in store.polls.history(rek)] == [
        "after the poll: Announcer failed: boom",
        "HTTP 503; after the poll: Alerts failed: bang"]
    assert [p.outcome for p in store.polls.history(rek)] == [Outcome.OK, Outcome.FAILED]


def test_poll_history_and_what_it_answers(store: Store) -> None:
    rek = letter(store)
    other = letter(store, "other")
    poll(store, rek, 1, Outcome.OK, 479, crawl=CrawlKind.FULL, added=479)
    failed = poll(store, rek, 2, Outcome.FAILED, None, http_status=503,
                  kind=FailureKind.NETWORK, error="HTTP 503")
    poll(store, rek, 3, Outcome.UNCHANGED, 479, http_status=304)
    poll(store, rek, 4, Outcome.SUSPECT, 0, kind=FailureKind.SUSPECT)
    poll(store, rek, 5, Outcome.BLOCKED, None, kind=FailureKind.BLOCKED)
    poll(store, other, 6, Outcome.OK, 10)
    with store.transaction():
        store.polls.start(rek, at(7))  # a poll still running is not history yet

    history = store.polls.history(rek)
    assert [p.outcome for p in history] == [Outcome.OK, Outcome.FAILED, Outcome.UNCHANGED,
                                            Outcome.SUSPECT, Outcome.BLOCKED]
    assert history[0].crawl is CrawlKind.FULL and history[1].kind is FailureKind.NETWORK
    assert [p.at for p in store.polls.history(rek, limit=2)] == [at(4), at(5)]
    assert store.polls.latest(rek).outcome is Outcome.BLOCKED  # type: ignore[union-attr]
    assert store.polls.latest_ok(rek).at == at(3)  # type: ignore[union-attr]
    assert store.polls.first_ok(rek).at == at(1)  # type: ignore[union-attr]
    assert store.polls.recent_ok_counts(rek, 5) == [479, 479]
    assert store.polls.ok_counts(rek) == [(at(1), 479), (at(3), 479)]
    assert store.polls.failing_streak(rek) == 2
    assert store.polls.failing_streak(rek, upto=failed) == 1
    assert dict(((n, o), c) for n, o, c in store.polls.counts_by_outcome()) == {
        ("rek", Outcome.OK): 1, ("rek", Outcome.FAILED): 1, ("rek", Outcome.UNCHANGED): 1,
        ("rek", Outcome.SUSPECT): 1, ("rek", Outcome.BLOCKED): 1, ("other", Outcome.OK): 1}
    assert [name for name, _, _ in store.letters.last_counts()] == ["other", "rek"]


def test_the_first_success_is_known(store: Store) -> None:
    rek = letter(store)
    first = poll(store, rek, 1, Outcome.OK, 100)
    assert not store.polls.any_ok_besides(rek, first)
    second = poll(store, rek, 2, Outcome.UNCHANGED, 100)
    assert store.polls.any_ok_besides(rek, second)


def test_the_timeline_streams_every_finished_poll_in_order(store: Store) -> None:
    rek = letter(store)
    for minute in range(1, 2501):  # more than one batch of the stream
        ok = minute % 7 != 0
        poll(store, rek, minute % 60, Outcome.OK if ok else Outcome.FAILED,
             minute if ok else None)
    with store.transaction():
        store.polls.start(rek, at(59))  # still running: not in the timeline
    timeline = list(store.polls.timeline(rek))
    assert len(timeline) == 2500
    assert timeline[6] == (at(7), Outcome.FAILED, None)
    assert timeline[-1] == (at(2500 % 60), Outcome.OK, 2500)
    assert [c for _, _, c in store.polls.timeline(rek, since=at(59))][:3] == [59, None, 179]


def test_what_the_report_asks_of_the_polls(store: Store) -> None:
    rek = letter(store)
    assert store.polls.last_change(rek) is None and store.polls.latest_failure(rek) is None
    poll(store, rek, 1, Outcome.OK, 100)
    poll(store, rek, 2, Outcome.UNCHANGED, 100)
    poll(store, rek, 3, Outcome.FAILED, None, kind=FailureKind.TIMEOUT, error="slow")
    poll(store, rek, 4, Outcome.OK, 120)
    poll(store, rek, 5, Outcome.SUSPECT, 0, kind=FailureKind.SUSPECT)
    poll(store, rek, 6, Outcome.UNCHANGED, 120)
    assert store.polls.count_at(rek, at(0)) is None
    assert store.polls.count_at(rek, at(3)) == (at(2), 100)
    assert store.polls.count_at(rek, at(5)) == (at(4), 120)
    assert store.polls.failures_since(rek, at(4)) == 1
    assert store.polls.failures_since(rek, at(1)) == 2
    assert store.polls.latest_failure(rek).kind is FailureKind.SUSPECT  # type: ignore[union-attr]
    assert store.polls.last_change(rek) == at(4)
    assert [p.at for p in store.polls.stream(rek)] == [at(m) for m in range(1, 7)]


def test_new_signatories_and_field_names(store: Store) -> None:
    rek = letter(store)
    first = poll(store, rek, 1, Outcome.OK, 2)
    with store.transaction():
        store.signatories.add(rek, [Row.of((("name", "Ada"), ("country", "UK")))], at(1),
                              first)
        store.signatories.add(rek, rows("Grace"), at(1), first)
    assert store.signatories.new_since(rek, at(0), limit=5) == (0, [])  # a backfill
    second = poll(store, rek, 2, Outcome.OK, 4)
    with store.transaction():
        store.signatories.add(rek, [Row.of((("name", "Mary"), ("title", "Prof"))),
                                    *rows("Joan")], at(2), second)
    count, newest = store.signatories.new_since(rek, at(0), limit=1)
    assert count == 2 and newest == [{"name": "Joan"}]
    assert store.signatories.new_since(rek, at(3), limit=5) == (0, [])
    assert store.signatories.field_names(rek) == ["name", "country", "title"]


# -- signatories ---------------------------------------------------------------------------

def test_signatories_are_added_counted_and_listed(store: Store) -> None:
    rek = letter(store)
    first = poll(store, rek, 1, Outcome.OK, 3)
    with store.transaction():
        store.signatories.add(rek, rows("Ada", "Grace", "Ada"), at(1), first)
    assert store.signatories.present(rek) == 3
    assert store.signatories.multiplicity(rek, ["x"] + [r.fingerprint for r in rows("Ada")]) \
        == {rows("Ada")[0].fingerprint: 2}
    assert store.signatories.added_in(first, limit=2) == [{"name": "Ada"}, {"name": "Grace"}]
    second = poll(store, rek, 2, Outcome.OK, 4)
    with store.transaction():
        store.signatories.add(rek, rows("Mary"), at(2), second)
    listed = list(store.signatories.listing(rek, since=at(2)))
    assert [v.fields for v in listed] == [{"name": "Mary"}]
    assert store.signatories.recent_fields(rek, since=at(1), limit=2) == [
        {"name": "Mary"}, {"name": "Ada"}]


def test_the_field_names_a_letters_rows_have(store: Store) -> None:
    rek = letter(store)
    assert store.signatories.field_names(rek) == []
    first = poll(store, rek, 1, Outcome.OK, 2)
    with store.transaction():
        store.signatories.add(rek, [Row.of((("first", "Ada"), ("last", "Lovelace"))),
                                    Row.of((("first", "Alan"), ("country", "UK")))],
                              at(1), first)
    assert store.signatories.field_names(rek) == ["first", "last", "country"]
    assert store.signatories.field_names(letter(store, "other")) == []


def test_a_full_crawl_reconciles_added_removed_and_duplicates(store: Store) -> None:
    rek = letter(store)
    first = poll(store, rek, 1, Outcome.OK, 4)
    with store.transaction():
        store.signatories.add(rek, rows("Ada", "Ada", "Grace", "Mary"), at(1), first)
    second = poll(store, rek, 2, Outcome.OK, 4)
    with store.transaction():
        store.signatories.stage_begin()
        store.signatories.stage(0, rows("Emmy", "Ada", "Mary"))  # newest first
        store.signatories.stage(3, rows("Lise"))
        done = store.signatories.reconcile(rek, at(2), second, newest_first=True)
    assert (done.added, done.removed, done.restored) == (2, 2, 0)  # Emmy, Lise; Ada, Grace
    present = {tuple(v.fields.values()) for v in store.signatories.listing(rek)
               if v.removed_at is None}
    assert present == {("Ada",), ("Mary",), ("Emmy",), ("Lise",)}
    assert store.signatories.present(rek) == 4
    removed_rows = [v for v in store.signatories.listing(rek) if v.removed_at]
    assert sorted(v.fields["name"] for v in removed_rows) == ["Ada", "Grace"]
    assert all(v.removed_at == at(2) for v in removed_rows)


def test_a_signatory_who_comes_back_is_the_same_signatory(store: Store) -> None:
    """A list that vanished and came back is the same people: first_seen is kept."""
    rek = letter(store)
    first = poll(store, rek, 1, Outcome.OK, 3)
    with store.transaction():
        store.signatories.add(rek, rows("Ada", "Grace", "Mary"), at(1), first)
    gone = poll(store, rek, 2, Outcome.OK, 1)
    with store.transaction():
        store.signatories.stage_begin()
        store.signatories.stage(0, rows("Mary"))
        store.signatories.reconcile(rek, at(2), gone, newest_first=True)
    back = poll(store, rek, 3, Outcome.OK, 4)
    with store.transaction():  # a full crawl sees Ada again, and someone new
        store.signatories.stage_begin()
        store.signatories.stage(0, rows("Emmy", "Ada", "Mary"))
        done = store.signatories.reconcile(rek, at(3), back, newest_first=True)
    assert (done.added, done.removed, done.restored) == (1, 0, 1)
    again = poll(store, rek, 4, Outcome.OK, 5)
    with store.transaction():  # an incremental poll sees Grace again
        assert store.signatories.add(rek, rows("Grace"), at(4), again) == 1
    listed = {v.fields["name"]: v for v in store.signatories.listing(rek)}
    assert sorted(listed) == ["Ada", "Emmy", "Grace", "Mary"]
    assert all(v.removed_at is None for v in listed.values())
    assert listed["Ada"].first_seen == listed["Grace"].first_seen == at(1)
    assert listed["Emmy"].first_seen == at(3)
    assert store.signatories.present(rek) == 4


# -- pages ---------------------------------------------------------------------------------

def test_pages_are_kept_once_per_content(store: Store) -> None:
    rek = letter(store)
    one, two = poll(store, rek, 1, Outcome.OK, 1), poll(store, rek, 2, Outcome.OK, 1)
    with store.transaction():
        store.pages.keep(one, 1, b"<html>same</html>")
        store.pages.keep(two, 1, b"<html>same</html>")
        store.pages.keep(two, 2, b"<html>other</html>")
    assert store.pages.body(two, 1) == b"<html>same</html>"
    assert store.pages.body(two, 2) == b"<html>other</html>"
    assert store.pages.body(one, 2) is None
    assert store.db.scalar("SELECT COUNT(*) FROM page_blobs") == 2


def test_failed_pages_stay_within_their_budget(store: Store) -> None:
    rek = letter(store)
    good = poll(store, rek, 1, Outcome.OK, 1)
    with store.transaction():
        store.pages.keep(good, 1, b"<html>the list</html>")
    failed = []
    for minute in range(2, 7):
        poll_id = poll(store, rek, minute, Outcome.FAILED, None)
        with store.transaction():
            store.pages.keep(poll_id, 1, f"<html>error {minute}</html>".encode() * 100)
            store.pages.trim_failed(rek, keep=2)
        failed.append(poll_id)
    assert [store.pages.body(p, 1) is not None for p in failed] == [
        False, False, False, True, True]
    assert store.pages.body(good, 1) == b"<html>the list</html>"  # not a failure's
    assert store.db.scalar("SELECT COUNT(*) FROM page_blobs") == 3


def test_old_pages_are_pruned(store: Store) -> None:
    rek = letter(store)
    old, new = poll(store, rek, 1, Outcome.OK, 1), poll(store, rek, 30, Outcome.OK, 1)
    with store.transaction():
        store.pages.keep(old, 1, b"<html>shared</html>")
        store.pages.keep(old, 2, b"<html>only old</html>")
        store.pages.keep(new, 1, b"<html>shared</html>")
    with store.transaction():
        assert store.pages.prune(rek, before=at(10)) == 2
    assert store.pages.body(old, 1) is None and store.pages.body(old, 2) is None
    assert store.pages.body(new, 1) == b"<html>shared</html>"  # its content stays
    assert store.db.scalar("SELECT COUNT(*) FROM page_blobs") == 1


# -- milestones ----------------------------------------------------------------------------

def test_a_milestone_is_recorded_once_ever(store: Store) -> None:
    rek = letter(store)
    first = poll(store, rek, 1, Outcome.OK, 480)
    with store.transaction():
        store.milestones.record(rek, silent=[100, 200], announced=[], poll_id=first,
                                count=480, at=at(1))
    second = poll(store, rek, 2, Outcome.OK, 510)
    with store.transaction():
        store.milestones.record(rek, silent=[], announced=[500], poll_id=second, count=510,
                                at=at(2))
        store.milestones.record(rek, silent=[500], announced=[], poll_id=second, count=510,
                                at=at(3))  # already there: stays announced
    assert store.milestones.highest(rek) == 500
    assert store.milestones.reached(rek) == [
        (100, at(1), 480, False), (200, at(1), 480, False), (500, at(2), 510, True)]
    assert store.milestones.last_announced_below(rek, 1000) == (at(2), 510)
    assert store.milestones.last_announced_below(rek, 500) is None


# -- the outbox ledger ---------------------------------------------------------------------

def queue(store: Store, rek: int, milestone: int, channel: str = "hook",
          kind: PostKind = PostKind.MILESTONE) -> bool:
    with store.transaction():
        return store.outbox.queue(letter_id=rek, letter="rek", kind=kind,
                                  milestone=milestone, channel=channel,
                                  text=f"{milestone} signed", count=milestone, poll_id=None,
                                  at=at(1))


def test_a_post_is_queued_once_per_letter_milestone_and_channel(store: Store) -> None:
    rek = letter(store)
    assert queue(store, rek, 500)
    assert not queue(store, rek, 500)  # the same post again: refused by the ledger
    assert queue(store, rek, 500, channel="fedi")
    entries = store.outbox.entries("rek")
    assert [(e.milestone, e.channel, e.status) for e in entries] == [
        (500, "hook", OutboxStatus.PENDING), (500, "fedi", OutboxStatus.PENDING)]
    assert entries[0].key != entries[1].key and len(entries[0].key) == 32


def test_claim_send_and_the_states_around_it(store: Store) -> None:
    rek = letter(store)
    queue(store, rek, 500)
    entry = store.outbox.due(at(2))[0]
    assert store.outbox.claim(entry, at(2))
    assert not store.outbox.claim(entry, at(2))  # a second claim of the same state loses
    sending = store.outbox.entry(entry.id)
    assert (sending.status, sending.attempts) == (OutboxStatus.SENDING, 1)
    assert store.outbox.due(at(2)) == [sending]  # a crash mid-send leaves it due
    store.outbox.update(entry.id, at(3), status=OutboxStatus.SENT, sent_at=at(3), cost=0.2,
                        remote_url="https://x.example/1")
    assert store.outbox.due(at(4)) == []
    assert store.outbox.sent_since("hook", at(3)) == [(at(3), 0.2)]
    assert store.outbox.sent_since("hook", at(4)) == []
    with pytest.raises(Exception, match="is sent"):
        store.outbox.cancel(entry.id, at(5))
    assert store.outbox.counts() == [("hook", OutboxStatus.SENT, 1)]


def test_failed_entries_wait_retry_and_cancel(store: Store) -> None:
    rek = letter(store)
    queue(store, rek, 500)
    entry = store.outbox.entries()[0]
    store.outbox.update(entry.id, at(2), status=OutboxStatus.FAILED, next_attempt_at=at(10),
                        error="HTTP 503")
    assert store.outbox.due(at(9)) == []
    assert [e.id for e in store.outbox.due(at(10))] == [entry.id]
    store.outbox.update(entry.id, at(3), status=OutboxStatus.GIVEN_UP)
    retried = store.outbox.retry(entry.id, at(4))
    assert (retried.status, retried.error, retried.next_attempt_at) == (
        OutboxStatus.PENDING, None, None)
    cancelled = store.outbox.cancel(entry.id, at(5))
    assert (cancelled.status, cancelled.error) == (OutboxStatus.CANCELLED, "cancelled by hand")
    with pytest.raises(NotFound, match="no outbox entry 999"):
        store.outbox.entry(999)


def test_a_higher_milestone_supersedes_older_waiting_posts(store: Store) -> None:
    rek = letter(store)
    queue(store, rek, 500)
    queue(store, rek, 600)
    queue(store, rek, 500, channel="fedi")
    with store.transaction():
        assert store.outbox.supersede(rek, "hook", 700, at(2)) == 2
    statuses = {(e.milestone, e.channel): (e.status, e.error) for e in store.outbox.entries()}
    assert statuses[(500, "hook")] == (OutboxStatus.CANCELLED, "superseded by milestone 700")
    assert statuses[(500, "fedi")][0] is OutboxStatus.PENDING


# -- locks and transactions ----------------------------------------------------------------

def test_one_run_at_a_time_on_sqlite_many_on_postgres(database_url: str,
                                                      tmp_path: Path) -> None:
    with open_store(database_url, T0) as first, open_store(database_url, T0) as second:
        if first.shared:  # PostgreSQL: processes meet on leases and the sender lock
            with first.run_lock(), second.run_lock(), first.sender_lock() as one, \
                    second.sender_lock() as two:
                assert (one, two) == (True, False)
            return
        lock = tmp_path / "run.lock"
        with first.run_lock(lock), pytest.raises(LockedError), second.run_lock(lock):
            pytest.fail("two runs held the lock")
        with second.run_lock(lock):
            pass


@pytest.mark.postgres
def test_a_polls_letter_row_is_locked_until_its_transaction_ends(pg_url: str) -> None:
    """Two writers: the second waits for the first's poll instead of losing its update."""
    with open_store(pg_url, T0) as first, open_store(pg_url, T0) as second:
        rek = letter(first)
        order: list[str] = []

        def other_writer() -> None:
            with second.transaction():
                state = second.letters.lock(rek)  # waits for the first transaction
                order.append("second read")
                second.letters.update(rek, last_count=(state.last_count or 0) + 1)

        with first.transaction():
            state = first.letters.lock(rek)
            writer = threading.Thread(target=other_writer)
            writer.start()
            time.sleep(0.3)
            order.append("first wrote")
            first.letters.update(rek, last_count=(state.last_count or 0) + 1)
        writer.join(5)
        assert order == ["first wrote", "second read"]
        assert first.letters.get("rek").last_count == 2  # type: ignore[union-attr]


def test_a_driver_error_becomes_a_store_error(store: Store) -> None:
    with pytest.raises(StoreError, match="database error"):
        store.db.execute("SELECT * FROM no_such_table")


# -- breakdowns and a letter's state -------------------------------------------------------

def test_breakdowns_are_kept_only_when_they_change(store: Store) -> None:
    letter_id = letter(store)
    seen = [(("GB", 8), ("FR", 2)), (("FR", 2), ("GB", 8)), (("GB", 9), ("FR", 2)),
            (("GB", 9), ("FR", 2))]
    written = []
    for minute, items in enumerate(seen, start=1):
        poll_id = poll(store, letter_id, minute, Outcome.OK, sum(n for _, n in items),
                       state="open")
        with store.transaction():
            written.append(store.breakdowns.record(letter_id, poll_id, "country", items))
    assert written == [True, False, True, False]  # the same counts in another order: same
    latest = store.breakdowns.latest(letter_id, "country")
    assert latest is not None
    assert (latest.at, latest.items, latest.total) == (at(3), (("GB", 9), ("FR", 2)), 11)
    assert store.breakdowns.latest(letter_id, "region") is None
    assert store.breakdowns.dimensions(letter_id) == ["country"]
    assert store.breakdowns.changes(letter_id, "country") == 2
    assert [p.state for p in store.polls.history(letter_id)] == ["open"] * 4


def test_a_letters_state_and_whether_it_lists_anyone(store: Store) -> None:
    letter_id = letter(store)
    state = store.letters.by_id(letter_id)
    assert state is not None and (state.count_only, state.closed) == (False, False)
    store.letters.update(letter_id, count_only=True, source_state="Closed")
    state = store.letters.by_id(letter_id)
    assert state is not None and (state.count_only, state.closed) == (True, True)
    store.letters.update(letter_id, source_state="open")
    assert not store.letters.get("rek").closed  # type: ignore[union-attr]
