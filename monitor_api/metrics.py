"""Prometheus metrics with a registry per app (no global state).

Pipeline gauges are read from the store at scrape time by a custom collector (so several
API processes report the same truth); request counts and latencies are the app's own.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from core.clock import Clock
from core.store.port import Store

log = logging.getLogger(__name__)
STAGES = ("analyze", "risk", "alert")
CRAWL_ERRORS_CHECKPOINT = "metrics:crawl_errors"


class PipelineCollector(Collector):
    """Mentions ingested, per-stage queue depth and lag, alerts by state, deliveries by status, crawl errors."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store, self.clock = store, clock

    def collect(self) -> Iterator[Metric]:
        try:
            stats = self.store.stats()
        except Exception:  # noqa: BLE001 - a scrape must answer even when the store does not
            log.exception("metrics: store stats failed")
            return
        counts = stats.get("counts", {})
        yield CounterMetricFamily("brandguard_mentions_ingested", "Mentions stored", value=counts.get("mentions", 0))
        depth = GaugeMetricFamily("brandguard_queue_depth", "Work items per stage and state", labels=["stage", "state"])
        lag = GaugeMetricFamily("brandguard_stage_lag_items", "Items waiting (ready) per stage", labels=["stage"])
        queues: dict[str, dict[str, int]] = dict(stats.get("queues", {}))
        for stage in STAGES:
            queues.setdefault(stage, {"ready": 0, "leased": 0, "dead": 0})
        for stage, states in sorted(queues.items()):
            for state, n in sorted(states.items()):
                depth.add_metric([stage, state], n)
            lag.add_metric([stage], states.get("ready", 0) + states.get("leased", 0))
        yield depth
        yield lag
        alerts = GaugeMetricFamily("brandguard_alerts", "Alerts by state", labels=["state"])
        for state in ("open", "acknowledged", "assigned", "snoozed", "resolved"):
            alerts.add_metric([state], stats.get("alerts_by_state", {}).get(state, 0))
        yield alerts
        deliveries = GaugeMetricFamily("brandguard_deliveries", "Outbox deliveries by status", labels=["status"])
        for status in ("pending", "sending", "sent", "failed", "dead"):
            deliveries.add_metric([status], stats.get("deliveries_by_status", {}).get(status, 0))
        yield deliveries
        errors = self.store.get_checkpoint(CRAWL_ERRORS_CHECKPOINT)
        yield CounterMetricFamily("brandguard_crawl_errors", "Crawl runs that failed",
                                  value=int(errors) if errors and errors.isdigit() else 0)


class AppMetrics:
    """The app's registry: pipeline collector plus HTTP request metrics."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.registry.register(PipelineCollector(store, clock))
        self.requests = Counter("brandguard_http_requests", "HTTP requests", ["method", "route", "status"],
                                registry=self.registry)
        self.latency = Histogram("brandguard_http_request_seconds", "HTTP request latency", ["route"],
                                 registry=self.registry)
        self._templates: dict[Any, str] | None = None

    def template_of(self, scope: dict[str, Any]) -> str:
        """The full route template (``/v1/alerts/{alert_id}``) that served a request."""
        endpoint = scope.get("endpoint")
        if endpoint is None:
            return "<unmatched>"
        if self._templates is None:
            from fastapi.routing import iter_route_contexts

            app = scope["app"]
            self._templates = {ctx.endpoint: ctx.path for ctx in iter_route_contexts(app.routes)
                               if ctx.endpoint is not None and ctx.path}
        return self._templates.get(endpoint, getattr(scope.get("route"), "path", "<unmatched>"))

    def asgi(self, app: Any) -> "RequestMetrics":
        """Wrap an ASGI app so each request is counted by its route template."""
        return RequestMetrics(app, self)


class RequestMetrics:
    """Pure ASGI middleware (no task groups, so errors raised while reading the body keep their type)."""

    def __init__(self, app: Any, metrics: AppMetrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}

        async def send_status(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            template = self.metrics.template_of(scope)
            self.metrics.requests.labels(scope.get("method", ""), template, str(status["code"])).inc()
            self.metrics.latency.labels(template).observe(time.perf_counter() - started)
