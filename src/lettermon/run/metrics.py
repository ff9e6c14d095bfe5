"""An optional Prometheus endpoint, read from the database at each scrape.

Nothing is counted in memory: every figure comes from the tables, so the metrics survive
restarts and agree with ``lettermon history`` and ``lettermon outbox``. Each scrape opens
the store through ``open_store`` (a connection of its own: the scrape runs on the
endpoint's thread, beside the worker's).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

from lettermon import clock as clocks
from lettermon.store import Store

StoreOpener = Callable[[], AbstractContextManager[Store]]


class DatabaseCollector:
    def __init__(self, open_store: StoreOpener) -> None:
        self._open_store = open_store

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        with self._open_store() as store:
            polls = CounterMetricFamily("lettermon_polls", "Polls by letter and outcome",
                                        labels=["letter", "outcome"])
            for name, outcome, n in store.polls.counts_by_outcome():
                polls.add_metric([name, outcome], n)
            yield polls
            count = GaugeMetricFamily("lettermon_signatures", "Last confirmed count",
                                      labels=["letter"])
            success = GaugeMetricFamily("lettermon_last_success_timestamp_seconds",
                                        "Time of the last successful poll", labels=["letter"])
            for name, last_count, at in store.letters.last_counts():
                if last_count is not None:
                    count.add_metric([name], last_count)
                if at:
                    success.add_metric([name], clocks.parse_iso(at).timestamp())
            yield count
            yield success
            posts = GaugeMetricFamily("lettermon_posts", "Outbox entries by channel and status",
                                      labels=["channel", "status"])
            for channel, status, n in store.outbox.counts():
                posts.add_metric([channel, status], n)
            yield posts


LATENESS_BUCKETS = (0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)


def serve_metrics(open_store: StoreOpener, host: str, port: int
                  ) -> tuple[Any, Callable[[float], None]]:
    """Start the endpoint on a daemon thread; returns the server (``shutdown()`` stops it)
    and the function that records this worker's lateness (seconds past due as a poll
    starts), served as the histogram ``lettermon_poll_lateness_seconds``."""
    from prometheus_client import CollectorRegistry, Histogram, start_http_server

    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(open_store))
    lateness = Histogram("lettermon_poll_lateness_seconds",
                         "Seconds past its due time when a poll of this worker starts",
                         buckets=LATENESS_BUCKETS, registry=registry)
    server, _thread = start_http_server(port, addr=host, registry=registry)
    return server, lateness.observe
