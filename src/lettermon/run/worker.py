"""``lettermon run``: claim what is due, poll it, send what is due, until stopped.

The schedule lives in the database (:mod:`lettermon.store.leases`): each letter has its next
due time, and a worker holds a lease on a letter while it polls it. Several workers may
share one PostgreSQL database; each letter is polled by one of them at a time, and a letter
whose worker died is taken over once its lease expires. APScheduler is only each worker's
in-process timer: every ``worker.tick`` it wakes the worker to claim what is due (as many
letters as it has free threads), every lease/3 to renew its leases, every minute to send
due posts, every hour to prune stored pages.

Polls run on a pool of ``worker.concurrency`` threads (one on SQLite, whose writers queue),
each with a store connection of its own; all share one limit of requests per host. Posts
are sent by one process at a time across all workers (the store's sender lock), so daily
caps and spend limits hold exactly.

SIGTERM and SIGINT stop claiming and let the polls in progress finish; a crawl still
running after ``GRACE`` seconds, or a request in flight, stops and rolls back, so the
process exits within 10 seconds with a consistent database and releases its leases.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Protocol

from lettermon import clock as clocks
from lettermon.announce.sender import Delivery, DeliveryStatus
from lettermon.durations import format_duration
from lettermon.errors import Interrupted
from lettermon.run.schedule import next_due
from lettermon.settings import LetterSettings, Settings
from lettermon.store import Store
from lettermon.store.leases import Claimed
from lettermon.watch.poll import PollReport

log = logging.getLogger(__name__)

OUTBOX_EVERY = 60.0  # seconds between sends of due retries when nothing is polled
MAINTAIN_EVERY = 3600.0  # seconds between prunings of old stored pages
GRACE = 6.0  # seconds a poll in progress may go on after a stop is asked for


class StopRequest:
    """Set by SIGTERM/SIGINT (or SIGHUP, to reload the config); tells a long crawl, and a
    request in flight, when the grace period is over."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.reload = False
        self._at: float | None = None

    def set(self, *, reload: bool = False) -> None:
        self.reload = reload
        self._at = time.monotonic()
        self.event.set()

    def reset(self) -> None:
        """Ready for the next round, after a reload."""
        self.event = threading.Event()
        self.reload = False
        self._at = None

    def crawl_must_stop(self) -> bool:
        return (self._at is not None and not self.reload
                and time.monotonic() - self._at > GRACE)


class Session(Protocol):
    """What one poll thread works with: :class:`lettermon.app.App` is one."""

    store: Store

    def poll(self, letter: LetterSettings, *, due_at: str | None = None,
             worker: str | None = None) -> PollReport: ...

    def send_due(self) -> list[Delivery]: ...

    def prune(self) -> int: ...

    def after_poll(self, letter: LetterSettings, report: PollReport) -> None: ...


def worker_id(configured: str | None) -> str:
    """This process's name among the workers: host, pid and a nonce, unless configured."""
    return configured or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Worker:
    """One ``lettermon run`` process among any number on the same database."""

    def __init__(self, settings: Settings, control: Store,
                 open_session: Callable[[], AbstractContextManager[Session]],
                 stop: StopRequest, *, identity: str, clock: clocks.Clock = clocks.system_clock,
                 observe_lateness: Callable[[float], None] | None = None,
                 letters: Sequence[LetterSettings] | None = None) -> None:
        self._settings = settings
        self._letters = {letter.name: letter
                         for letter in (settings.letters if letters is None else letters)}
        self._control = control
        self._open_session = open_session
        self._stop = stop
        self.id = identity
        self._clock = clock
        self._observe = observe_lateness
        self._lease = settings.lease
        self._threads = 1 if not control.shared else settings.worker.concurrency
        self._busy = 0
        self._busy_lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._local = threading.local()
        self._sessions: list[AbstractContextManager[Session]] = []
        self._pool: ThreadPoolExecutor | None = None
        self.failure: str | None = None
        """Why the worker stopped by itself (the database vanished), if it did."""
        self._unschedule: Callable[[str], None] | None = None

    # -- the timer's jobs (one scheduler thread, the control connection) ---------------------
    def tick(self) -> None:
        """Claim as many due letters as there are free threads, and start polling them."""
        if self._stop.event.is_set() or not self._safe():
            return
        with self._busy_lock:
            free = self._threads - self._busy
        if free <= 0:
            return
        now = self._clock()
        claimed = self._control.leases.claim_due(
            self.id, list(self._letters), clocks.iso(now), self._until(now), free)
        for due in claimed:
            with self._busy_lock:
                self._busy += 1
            if self._pool is not None:
                self._pool.submit(self._poll, due)

    def beat(self) -> None:
        """Say this worker lives, and renew the leases of the letters it is polling."""
        if not self._safe():
            return
        now = self._clock()
        self._control.workers.beat(self.id, clocks.iso(now))
        self._control.leases.renew(self.id, self._until(now))

    def send_soon(self) -> None:
        if self._pool is not None and not self._stop.event.is_set():
            self._pool.submit(self._send)

    def maintain_soon(self) -> None:
        if self._pool is not None and not self._stop.event.is_set() and self._safe():
            self._pool.submit(self._maintain)

    def _until(self, now: datetime) -> str:
        return clocks.iso(now + timedelta(seconds=self._lease))

    def _safe(self) -> bool:
        """Whether the database is still the one this worker opened; stops it if not."""
        reason = self._control.vanished()
        if reason is None:
            return True
        if self.failure is None:
            log.error("%s; stopping so that nothing more is lost", reason,
                      extra={"event": "database_vanished"})
            self.failure = reason
            self._stop.set()
        return False

    # -- on the pool's threads (each with a session of its own) ------------------------------
    def _session(self) -> Session:
        session: Session | None = getattr(self._local, "session", None)
        if session is None:
            opened = self._open_session()
            session = opened.__enter__()
            self._local.session = session
            with self._busy_lock:
                self._sessions.append(opened)
        return session

    def _poll(self, due: Claimed) -> None:
        """Poll a claimed letter; then, while letters are due, claim the next one on this
        thread's own connection and poll it too, so quick polls are not paced by the tick."""
        next_claim: Claimed | None = due
        try:
            while next_claim is not None:
                polled = self._poll_one(next_claim)
                next_claim = self._claim_next() if polled else None
        finally:
            with self._busy_lock:
                self._busy -= 1

    def _claim_next(self) -> Claimed | None:
        if self._stop.event.is_set() or self.failure is not None:
            return None
        try:
            now = self._clock()
            claimed = self._session().store.leases.claim_due(
                self.id, list(self._letters), clocks.iso(now), self._until(now), 1)
        except Exception:
            log.exception("claiming the next due letter raised; the next tick tries again")
            return None
        return claimed[0] if claimed else None

    def _poll_one(self, due: Claimed) -> bool:
        """One claimed letter: poll it, release it with its next due time, send. Whether
        this thread may go on to the next letter (it had a session to poll with)."""
        letter = self._letters[due.name]
        session: Session | None = None
        next_time: str | None = None
        try:
            session = self._session()
            started = self._clock()
            if self._observe is not None and due.due_at:
                self._observe(max(0.0, (started - clocks.parse_iso(due.due_at)).total_seconds()))
            report = session.poll(letter, due_at=due.due_at, worker=self.id)
            log_poll(letter, report)
            next_time = next_due(letter, due.due_at, self._clock())
            if report.closed:  # that was its last poll: this worker claims it no more
                log.info("%s is closed: that was its last poll", letter.name,
                         extra={"letter": letter.name, "event": "closed"})
                self._letters.pop(letter.name, None)
            self._after(session, letter, report)
        except Interrupted:
            log.info("poll of %s stopped by shutdown; nothing stored", letter.name,
                     extra={"letter": letter.name, "event": "poll_interrupted"})
        except Exception:  # the one catch-all of a scheduled poll
            log.exception("poll of %s raised", letter.name,
                          extra={"letter": letter.name, "event": "poll_error"})
            next_time = next_due(letter, due.due_at, self._clock())
        finally:
            try:
                if session is not None:
                    session.store.leases.release(self.id, due.letter_id, next_time)
            except Exception:
                log.exception("releasing %s raised; its lease will expire", letter.name)
        if session is not None and not self._stop.event.is_set():
            self._send()
        return session is not None

    @staticmethod
    def _after(session: Session, letter: LetterSettings, report: PollReport) -> None:
        """The after-poll step (the status pages), outside the poll's transaction: its
        failure is logged and changes nothing of the poll."""
        try:
            session.after_poll(letter, report)
        except Exception:
            log.exception("after the poll of %s", letter.name,
                          extra={"letter": letter.name, "event": "after_poll_error"})

    def _send(self) -> None:
        """Send what is due, if no other thread or worker is sending now."""
        if not self._send_lock.acquire(blocking=False):
            return
        try:
            session = self._session()
            with session.store.sender_lock() as mine:
                if not mine:
                    return
                for delivery in session.send_due():
                    if delivery.status is not DeliveryStatus.HELD:
                        log.info("%s %s → %s: %s", delivery.entry.kind, delivery.entry.letter,
                                 delivery.entry.channel, delivery.status)
        except Exception:
            log.exception("sending the outbox raised", extra={"event": "send_error"})
        finally:
            self._send_lock.release()

    def _maintain(self) -> None:
        try:
            session = self._session()
            session.prune()
            session.store.workers.forget(clocks.iso(self._clock() - timedelta(days=7)))
        except Exception:
            log.exception("pruning stored pages raised", extra={"event": "maintain_error"})

    # -- the process ---------------------------------------------------------------------
    def run(self) -> None:
        from apscheduler.executors.pool import ThreadPoolExecutor as JobExecutor
        from apscheduler.schedulers.background import BackgroundScheduler

        now = self._clock()
        for letter in self._letters.values():  # a letter new to the database is due at once
            self._control.letters.ensure(letter.name, str(letter.url), clocks.iso(now))
        self._control.workers.register(self.id, socket.gethostname(), os.getpid(),
                                       clocks.iso(now), self._lease)
        scheduler = BackgroundScheduler(
            timezone=UTC, executors={"default": JobExecutor(max_workers=1)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None})
        tick = self._settings.worker.tick
        scheduler.add_job(self.tick, "interval", seconds=tick, id="claim",
                          name="claim due letters", next_run_time=datetime.now(UTC))
        scheduler.add_job(self.beat, "interval", seconds=max(self._lease / 3, tick), id="beat",
                          name="renew leases")
        scheduler.add_job(self.send_soon, "interval", seconds=OUTBOX_EVERY, id="outbox",
                          name="send due posts")
        scheduler.add_job(self.maintain_soon, "interval", seconds=MAINTAIN_EVERY,
                          id="maintain", name="prune stored pages")
        with self._running() as pool:
            self._pool = pool
            scheduler.start()
            log.info("lettermon worker %s running, %d thread(s): %s", self.id, self._threads,
                     ", ".join(f"{x.name} every {x.cron or format_duration(x.interval)}"
                               for x in self._letters.values()),
                     extra={"event": "start", "worker": self.id})
            try:
                self._stop.event.wait()
            finally:
                log.info("stopping: finishing the polls in progress", extra={"event": "stop"})
                scheduler.shutdown(wait=True)
        log.info("stopped", extra={"event": "stopped", "worker": self.id})

    @contextmanager
    def _running(self) -> Iterator[ThreadPoolExecutor]:
        pool = ThreadPoolExecutor(max_workers=self._threads, thread_name_prefix="poll")
        try:
            yield pool
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            for opened in self._sessions:
                try:
                    opened.__exit__(None, None, None)
                except Exception:
                    log.exception("closing a poll thread's connection raised")
            if self.failure is None:
                stopped = clocks.iso(self._clock())
                self._control.leases.release_all(self.id)
                self._control.workers.stop(self.id, stopped)


def log_poll(letter: LetterSettings, report: PollReport) -> None:
    """One line for each poll: what came of it, the count, the pages, the bytes, the time."""
    log.log(logging.INFO if report.ok else logging.WARNING,
            "polled %s: %s, %s, %s, %d bytes, %.2fs%s",
            letter.name, report.outcome, _count(report),
            "1 page" if report.pages == 1 else f"{report.pages} pages",
            report.bytes, report.duration, f": {report.error}" if report.error else "", extra={
                "letter": letter.name, "event": "poll", "outcome": report.outcome,
                "count": report.count, "delta": report.delta, "added": report.added,
                "removed": report.removed, "pages": report.pages, "bytes": report.bytes,
                "duration": round(report.duration, 3), "error": report.error})


def _count(report: PollReport) -> str:
    if report.count is None:
        return "no count"
    change = "first poll" if report.delta is None else f"{report.delta:+d}"
    return f"count {report.count} ({change})"


def install_signal_handlers(stop: StopRequest) -> None:
    def handler(signum: int, frame: FrameType | None) -> None:
        log.info("received %s", signal.Signals(signum).name)
        stop.set(reload=signum == signal.SIGHUP)

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGHUP, handler)
