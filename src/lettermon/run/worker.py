"""``lettermon run``: poll every letter on its schedule and send what is due, until stopped.

Jobs run one at a time on a single worker thread (one database connection, no overlap);
a late job runs once (coalesced), never skipped or piled up. SIGTERM and SIGINT stop the
scheduler and let the poll in progress finish; only a crawl still running after
``GRACE`` seconds (a long backfill) stops between pages and rolls back, so the process
exits within 10 seconds with a consistent database.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from types import FrameType

from lettermon.announce.sender import Delivery, DeliveryStatus
from lettermon.durations import format_duration
from lettermon.errors import Interrupted
from lettermon.run.schedule import trigger_for
from lettermon.settings import LetterSettings
from lettermon.watch.poll import PollReport

log = logging.getLogger(__name__)

OUTBOX_EVERY = 60.0  # seconds between sends of due retries when nothing is polled
GRACE = 6.0  # seconds a poll in progress may go on after a stop is asked for


class StopRequest:
    """Set by SIGTERM/SIGINT; tells a long crawl when its grace period is over."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self._at: float | None = None

    def set(self) -> None:
        self._at = time.monotonic()
        self.event.set()

    def crawl_must_stop(self) -> bool:
        return self._at is not None and time.monotonic() - self._at > GRACE


class Worker:
    """Schedules ``poll`` for every letter and ``send_due`` every minute, until stopped."""

    def __init__(self, letters: Sequence[LetterSettings],
                 poll: Callable[[LetterSettings], PollReport],
                 send_due: Callable[[], list[Delivery]], stop: StopRequest) -> None:
        self._letters = tuple(letters)
        self._poll = poll
        self._send_due = send_due
        self._stop = stop

    def poll(self, letter: LetterSettings) -> None:
        """One scheduled poll, then the outbox; the one catch-all of a scheduled run."""
        try:
            report = self._poll(letter)
            log.log(logging.INFO if report.ok else logging.WARNING,
                    "polled %s: %s, %s, %s, %d bytes, %.2fs%s",
                    letter.name, report.outcome, _count(report),
                    "1 page" if report.pages == 1 else f"{report.pages} pages",
                    report.bytes, report.duration,
                    f": {report.error}" if report.error else "", extra={
                "letter": letter.name, "event": "poll", "outcome": report.outcome,
                "count": report.count, "delta": report.delta, "added": report.added,
                "removed": report.removed, "pages": report.pages, "bytes": report.bytes,
                "duration": round(report.duration, 3), "error": report.error})
            if not self._stop.event.is_set():
                self.send()
        except Interrupted:
            log.info("poll of %s stopped by shutdown after %ss; nothing stored", letter.name,
                     GRACE,
                     extra={"letter": letter.name, "event": "poll_interrupted"})
        except Exception:
            log.exception("poll of %s raised", letter.name,
                          extra={"letter": letter.name, "event": "poll_error"})

    def send(self) -> None:
        try:
            for delivery in self._send_due():
                if delivery.status is not DeliveryStatus.HELD:
                    log.info("%s %s → %s: %s", delivery.entry.kind, delivery.entry.letter,
                             delivery.entry.channel, delivery.status)
        except Exception:
            log.exception("sending the outbox raised", extra={"event": "send_error"})

    def run(self) -> None:
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.background import BackgroundScheduler

        scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={"default": ThreadPoolExecutor(max_workers=1)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        now = datetime.now(UTC)
        for letter in self._letters:
            scheduler.add_job(self.poll, trigger_for(letter), args=[letter], id=letter.name,
                              name=f"poll {letter.name}", next_run_time=now)
        scheduler.add_job(self.send, "interval", seconds=OUTBOX_EVERY, id="outbox",
                          name="send due posts")
        scheduler.start()
        log.info("lettermon running: %s", ", ".join(
            f"{x.name} every {x.cron or format_duration(x.interval)}"
            for x in self._letters),
            extra={"event": "start"})
        try:
            self._stop.event.wait()
        finally:
            log.info("stopping: finishing the job in progress", extra={"event": "stop"})
            scheduler.shutdown(wait=True)
        log.info("stopped", extra={"event": "stopped"})


def _count(report: PollReport) -> str:
    if report.count is None:
        return "no count"
    change = "first poll" if report.delta is None else f"{report.delta:+d}"
    return f"count {report.count} ({change})"


def install_signal_handlers(stop: StopRequest) -> None:
    def handler(signum: int, frame: FrameType | None) -> None:
        log.info("received %s", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
