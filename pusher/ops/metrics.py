"""Prometheus metrics: counters the pipeline feeds, gauges read from the database at scrape.

Each process builds one :class:`Metrics` (its own ``CollectorRegistry``; the
global default registry is never used) and passes it to whoever records events.
Counts of items, pushes and deliveries, and the queue's depth and age, are read
from the database when Prometheus scrapes, so every process reports the same
truth and a restart loses nothing: aggregate them with ``max`` across instances,
and the event counters with ``sum``.

The web process serves ``/metrics`` through :func:`pusher.web.monitoring.setup_metrics`;
a worker runs a small server of its own with :func:`start_metrics_server`.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlmodel import SQLModel

from pusher.db import SessionFactory
from pusher.models import DeliveryStatus

log = logging.getLogger(__name__)
AsyncCleanup = Callable[[], Awaitable[None]]
CALL_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
WAIT_BUCKETS = (0.0, 0.01, 0.1, 0.5, 1.0, 3.0, 10.0, 30.0, 60.0, 90.0)


@dataclass
class Snapshot:
    """What the database said at the last scrape."""

    items: dict[str, int] = field(default_factory=dict)
    pushes: dict[str, int] = field(default_factory=dict)
    deliveries: dict[tuple[str, str], int] = field(default_factory=dict)
    queue_depth: int = 0
    oldest_queued_seconds: float = 0.0
    up: bool = False


def _aware(value: datetime) -> datetime:
    # SQLite hands datetimes back naive; they were written in UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


async def read_snapshot(db: SessionFactory, *, now: datetime) -> Snapshot:
    """Counts by status and the due queue, read in one session."""
    tables = SQLModel.metadata.tables
    i, p, d = tables["item"].c, tables["push"].c, tables["delivery"].c
    snap = Snapshot(up=True)
    async with db() as session:
        rows = await session.execute(select(i.status, func.count()).group_by(i.status))
        snap.items = {str(s): int(n) for s, n in rows}
        rows = await session.execute(select(p.status, func.count()).group_by(p.status))
        snap.pushes = {str(s): int(n) for s, n in rows}
        rows = await session.execute(
            select(d.channel, d.status, func.count()).group_by(d.channel, d.status)
        )
        snap.deliveries = {(str(c), str(s)): int(n) for c, s, n in rows}
        # a fresh planned row (no time set) has been due since it was planned
        due_at = func.coalesce(d.next_attempt_at, d.created_at)
        due = (d.status == DeliveryStatus.QUEUED.value) & (due_at <= now)
        row = (await session.execute(select(func.count(), func.min(due_at)).where(due))).one()
    snap.queue_depth = int(row[0])
    if row[1] is not None:
        snap.oldest_queued_seconds = max(0.0, (now - _aware(row[1])).total_seconds())
    return snap


class DatabaseCollector(Collector):
    """Gauges from the last :class:`Snapshot` (refreshed just before each scrape)."""

    def __init__(self) -> None:
        self.snapshot = Snapshot()

    def collect(self) -> Iterator[Metric]:
        s = self.snapshot
        up = GaugeMetricFamily("pusher_database_up", "1 if the last scrape could read the database")
        up.add_metric([], 1.0 if s.up else 0.0)
        yield up
        if not s.up:
            return
        yield _by_status("pusher_items", "Items by review/push status", s.items)
        yield _by_status("pusher_pushes", "Pushes by status", s.pushes)
        deliveries = GaugeMetricFamily(
            "pusher_deliveries", "Deliveries by channel and status", labels=["channel", "status"]
        )
        for (channel, status), n in sorted(s.deliveries.items()):
            deliveries.add_metric([channel, status], n)
        yield deliveries
        yield GaugeMetricFamily(
            "pusher_queue_depth", "Deliveries queued and due now", value=s.queue_depth
        )
        yield GaugeMetricFamily(
            "pusher_queue_oldest_seconds",
            "Age of the oldest queued delivery that is due (0 if none)",
            value=s.oldest_queued_seconds,
        )


def _by_status(name: str, doc: str, counts: dict[str, int]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=["status"])
    for status, n in sorted(counts.items()):
        family.add_metric([status], n)
    return family


class Metrics:
    """One process's metrics; pass it to whatever records events."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.database = DatabaseCollector()
        self.registry.register(self.database)
        r = self.registry
        self.provider_call_seconds = Histogram(
            "pusher_provider_call_seconds",
            "Provider API call latency",
            ["provider"],
            buckets=CALL_BUCKETS,
            registry=r,
        )
        self.provider_errors = Counter(
            "pusher_provider_errors", "Provider error codes seen", ["provider", "code"], registry=r
        )
        self.rate_wait_seconds = Histogram(
            "pusher_rate_limit_wait_seconds",
            "Time spent waiting for a rate-limit grant",
            ["bucket"],
            buckets=WAIT_BUCKETS,
            registry=r,
        )
        self.token_refreshes = Counter(
            "pusher_token_refreshes",
            "Access tokens fetched from a provider",
            ["provider"],
            registry=r,
        )
        self.receipts = Counter(
            "pusher_receipts", "Delivery receipts received", ["provider"], registry=r
        )
        self.receipts_dropped = Counter(
            "pusher_receipts_dropped",
            "Receipts for unknown message ids not parked: the provider's parking was full",
            ["provider"],
            registry=r,
        )

    def observe_call(self, provider: str, seconds: float) -> None:
        """One provider API call took ``seconds``."""
        self.provider_call_seconds.labels(provider=provider).observe(seconds)

    @contextlib.contextmanager
    def time_call(self, provider: str) -> Iterator[None]:
        """Time the enclosed provider call (also when it raises)."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.observe_call(provider, time.perf_counter() - started)

    def count_error(self, provider: str, code: str | int) -> None:
        """The provider answered with error ``code``."""
        self.provider_errors.labels(provider=provider, code=str(code)).inc()

    def count_receipts(self, provider: str, n: int = 1) -> None:
        """``n`` receipts (callbacks or status query results) came in."""
        if n:
            self.receipts.labels(provider=provider).inc(n)

    def count_dropped_receipts(self, provider: str, n: int) -> None:
        """``n`` receipts of unknown ids were dropped (parking full)."""
        if n:
            self.receipts_dropped.labels(provider=provider).inc(n)

    def observe_rate_wait(self, bucket: str, seconds: float) -> None:
        """A sender waited ``seconds`` for a grant; ``bucket`` names a family, never a key."""
        self.rate_wait_seconds.labels(bucket=bucket).observe(seconds)

    def count_token_refresh(self, provider: str) -> None:
        """A new access token was fetched."""
        self.token_refreshes.labels(provider=provider).inc()

    async def refresh(self, db: SessionFactory, *, now: datetime | None = None) -> None:
        """Re-read the database gauges; a failure is reported as ``pusher_database_up 0``."""
        try:
            self.database.snapshot = await read_snapshot(db, now=now or datetime.now(UTC))
        except Exception as exc:  # a scrape must answer even when the DB does not
            log.warning("metrics: database unreadable", extra={"error": type(exc).__name__})
            self.database.snapshot = Snapshot(up=False)

    async def render(self, db: SessionFactory) -> bytes:
        """The exposition text after a fresh database read."""
        await self.refresh(db)
        return generate_latest(self.registry)


def metrics_handler(
    metrics: Metrics, db: Callable[[], SessionFactory]
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """A ``/metrics`` view; ``db`` is looked up per request (resources open after routing)."""

    async def view(_request: web.Request) -> web.Response:
        body = await metrics.render(db())
        response = web.Response(body=body)
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response

    return view


@dataclass
class MetricsServer:
    """A running worker metrics server; awaiting the object itself stops it."""

    runner: web.AppRunner
    port: int

    async def __call__(self) -> None:
        await self.runner.cleanup()


async def start_metrics_server(
    metrics: Metrics, db: SessionFactory, *, host: str, port: int
) -> MetricsServer:
    """Serve ``/metrics`` on ``host:port`` (port 0 picks a free one); returns its cleanup."""
    app = web.Application()
    app.router.add_get("/metrics", metrics_handler(metrics, lambda: db))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = int(runner.addresses[0][1]) if runner.addresses else port
    log.info("metrics server listening", extra={"host": host, "port": bound})
    return MetricsServer(runner, bound)
