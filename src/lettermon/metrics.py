"""An optional Prometheus endpoint, read from the database at each scrape.

Nothing is counted in memory: every figure comes from the tables, so the metrics survive
restarts and agree with ``lettermon history`` and ``lettermon outbox``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from lettermon import clock
from lettermon.store.db import open_database


class DatabaseCollector:
    def __init__(self, database_url: str) -> None:
        self._url = database_url

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        db = open_database(self._url)
        try:
            polls = CounterMetricFamily("lettermon_polls", "Polls by letter and outcome",
                                        labels=["letter", "outcome"])
            for name, outcome, n in db.all(
                    "SELECT l.name, p.outcome, COUNT(*) FROM polls p JOIN letters l "
                    "ON l.id = p.letter_id WHERE p.outcome <> 'running' "
                    "GROUP BY l.name, p.outcome"):
                polls.add_metric([name, outcome], n)
            yield polls
            count = GaugeMetricFamily("lettermon_signatures", "Last confirmed count",
                                      labels=["letter"])
            success = GaugeMetricFamily("lettermon_last_success_timestamp_seconds",
                                        "Time of the last successful poll", labels=["letter"])
            for name, last_count, at in db.all(
                    "SELECT l.name, l.last_count, (SELECT MAX(at) FROM polls p WHERE "
                    "p.letter_id = l.id AND p.outcome IN ('ok', 'unchanged')) FROM letters l"):
                if last_count is not None:
                    count.add_metric([name], last_count)
                if at:
                    success.add_metric([name], clock.parse_iso(at).timestamp())
            yield count
            yield success
            posts = GaugeMetricFamily("lettermon_posts", "Outbox entries by channel and status",
                                      labels=["channel", "status"])
            for channel, status, n in db.all(
                    "SELECT channel, status, COUNT(*) FROM outbox GROUP BY channel, status"):
                posts.add_metric([channel, status], n)
            yield posts
        finally:
            db.close()


def serve_metrics(database_url: str, host: str, port: int) -> Any:
    """Start the endpoint on a daemon thread; returns the server (``shutdown()`` stops it)."""
    from prometheus_client import CollectorRegistry, start_http_server

    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(database_url))
    server, _thread = start_http_server(port, addr=host, registry=registry)
    return server
