"""Metrics read from the services at scrape time, for the app's /metrics registry."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from fleetward.services.cross_tenant import CrossTenantProbes


class CrossTenantCollector(Collector):
    """Attempts on another tenant's objects, and probes the queue had to drop.

    Read from the service's own counts when scraped: the service counts on its
    thread and knows nothing of Prometheus, and each app has its own registry.
    """

    def __init__(self, probes: CrossTenantProbes) -> None:
        self.probes = probes

    def collect(self) -> Iterator[Metric]:
        recorded, dropped = self.probes.counts()
        attempts = CounterMetricFamily(
            "fleetward_cross_tenant_access",
            "Requests for an object of another tenant (recorded in the owner's audit log)",
            labels=["object_type"],
        )
        for object_type, count in sorted(recorded.items()):
            attempts.add_metric([object_type], count)
        lost = CounterMetricFamily(
            "fleetward_cross_tenant_probes_dropped",
            "Cross-tenant lookups not made: queue full, or the lookup failed",
            labels=["reason"],
        )
        for reason, count in sorted(dropped.items()):
            lost.add_metric([reason], count)
        yield attempts
        yield lost
