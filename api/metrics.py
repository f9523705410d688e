"""Prometheus metrics of one API process: HTTP latencies, upload bytes, and jobs by state.

Each app has its own registry (no process-global state, so several apps in one test process do not
collide). Jobs by state are counted in the job table at scrape time: the table is the source of truth, and
workers in other processes change it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from storage import crud
from storage.db import get_engine, session_scope
from storage.models import JobStatus

#: Seconds; uploads of long recordings sit in the top buckets.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


class JobsByState(Collector):
    """`classpulse_jobs{state=...}`: the number of jobs in each state, read from the job table."""

    def __init__(self, database_url: str):
        self.database_url = database_url

    def collect(self) -> Iterator[Metric]:
        with session_scope(get_engine(self.database_url)) as session:
            counts = crud.count_jobs_by_status(session)
        family = GaugeMetricFamily("classpulse_jobs", "Jobs by state (all customers)", labels=["state"])
        for state in JobStatus:
            family.add_metric([state], counts.get(state, 0))
        yield family


class Metrics:
    """The registry and instruments of one app."""

    def __init__(self, database_url: str):
        self.registry = CollectorRegistry()
        self.latency = Histogram(
            "classpulse_http_request_duration_seconds",
            "HTTP request latency by route template, method and status",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.upload_bytes = Counter(
            "classpulse_upload_bytes",
            "Bytes of uploaded files received in full (kind: video or image)",
            ["kind"],
            registry=self.registry,
        )
        self.registry.register(JobsByState(database_url))


class LatencyMiddleware:
    """Pure ASGI middleware (it never touches the body, so streamed uploads, their disconnects and their
    idle timeouts behave as without it): observes each request under its route template
    (`/v1/jobs/{job_id}`), so ids never become label values; unmatched paths share one label."""

    def __init__(self, app: ASGIApp, metrics: Metrics):
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def send_and_note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_and_note_status)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            elapsed = time.perf_counter() - started
            self.metrics.latency.labels(scope["method"], route, str(status)).observe(elapsed)
