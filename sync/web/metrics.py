"""Prometheus metrics of the web app: webhook counters per process, run history from the store."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from sync.store import SyncRun

RECORD_COUNTS = ("accounts", "reps", "activities", "pushed", "rejected", "parked", "api_calls")


class WebhookMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.accepted = Counter(
            "tsync_webhook_events_accepted",
            "Webhook events stored and enqueued",
            ["source"],
            registry=registry,
        )
        self.duplicates = Counter(
            "tsync_webhook_events_duplicate",
            "Webhook events dropped as duplicates",
            ["source"],
            registry=registry,
        )
        self.rejected = Counter(
            "tsync_webhook_requests_rejected",
            "Webhook requests refused",
            ["source", "reason"],
            registry=registry,
        )


class StoreCollector:
    """Run history and record counts, read from the store at scrape time (shared by all processes)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        runs = GaugeMetricFamily(
            "tsync_runs", "Runs in the history by kind and status", labels=["kind", "status"]
        )
        records = GaugeMetricFamily(
            "tsync_records", "Records moved by the recorded runs", labels=["org", "what"]
        )
        with Session(self.engine) as session:
            for kind, status, n in session.exec(
                select(SyncRun.kind, SyncRun.status, func.count()).group_by(SyncRun.kind, SyncRun.status)
            ).all():
                runs.add_metric([kind, status], n)
            totals: dict[tuple[str, str], float] = {}
            for org, counts in session.exec(
                select(SyncRun.org_id, SyncRun.counts).where(SyncRun.kind != "run")
            ):
                for what in RECORD_COUNTS:
                    if isinstance(counts.get(what), (int, float)):
                        totals[(org, what)] = totals.get((org, what), 0) + counts[what]
            for (org, what), value in sorted(totals.items()):
                records.add_metric([org, what], value)
        yield runs
        yield records


def web_registry(engine: Engine) -> tuple[CollectorRegistry, WebhookMetrics]:
    """A registry of this app's own (so two apps in one process never share counters)."""
    registry = CollectorRegistry()
    metrics = WebhookMetrics(registry)
    registry.register(StoreCollector(engine))
    return registry, metrics
