"""Reconciliation: one sync of 10,000 active alerts against a provider, on SQLite.

The provider is an in-process ProviderApi handing back 10,000 NinjaOne triggers
none of which Fleetward has seen (the heaviest run: every one becomes an alert
and a ticket, 2,000 devices times 5 conditions); the run goes through the real
SyncService, pipeline and storage. A second run of the same list (everything
unchanged) is in the detail. Two figures come from the one measurement: alerts
reconciled per second next to the raw SQLite batched insert of the same run,
and the run's seconds against the issue's bound (under 10 s).
"""

from __future__ import annotations

import asyncio
import functools
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from bench.core import BenchError, Measurement, RunConfig, figure, scratch_dir
from fleetward.bootstrap import build
from fleetward.config import Settings
from fleetward.domain.alerts import (
    Alert,
    Device,
    EventKind,
    NormalizedEvent,
    Provider,
    Severity,
)
from fleetward.domain.identity import Principal, Role
from fleetward.domain.integrations import Integration
from fleetward.domain.rules import AlertRule
from fleetward.domain.sync import SyncTrigger
from fleetward.services.ports import ProviderApi

ALERTS = 10_000
QUICK_ALERTS = 500
CONDITIONS = 5
BOUND_SECONDS = 10.0


class ListedAlerts:
    """A provider API that reports a fixed list of active alerts."""

    def __init__(self, events: list[NormalizedEvent]) -> None:
        self.events = events

    async def active_alerts(self) -> list[NormalizedEvent]:
        return list(self.events)

    async def reset(self, alert: Alert, ticket_reference: str | None) -> None:
        raise BenchError("a sync never resets")

    async def acknowledge(self, alert: Alert) -> bool:
        raise BenchError("a sync never acknowledges")

    async def aclose(self) -> None:
        return None


def active_alerts(count: int) -> list[NormalizedEvent]:
    at = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
    return [
        NormalizedEvent(
            Provider.NINJAONE,
            EventKind.TRIGGERED,
            str(100_000 + i),
            f"series-{i}",
            Device(str(1000 + i // CONDITIONS), f"WS-{i // CONDITIONS}", "7"),
            Severity.MAJOR,
            f"condition-{i % CONDITIONS}",
            f"Condition {i % CONDITIONS} triggered",
            "Reported by the provider's API.",
            at + timedelta(seconds=i),
            "CONDITION",
        )
        for i in range(count)
    ]


@functools.cache
def _measure(cfg: RunConfig) -> dict[str, float]:
    count = QUICK_ALERTS if cfg.quick else ALERTS
    api = ListedAlerts(active_alerts(count))

    def provider_apis(integration: Integration, credentials: Mapping[str, str]) -> ProviderApi:
        return api

    with scratch_dir("sync") as tmp:
        settings = Settings(database_url=f"sqlite:///{tmp / 'bench.db'}", data_dir=tmp)
        c = build(settings, migrate_schema=True, provider_apis=provider_apis)
        try:
            tenant = c.identity.create_tenant("Bench MSP")
            admin = Principal(tenant.id, uuid.uuid4(), "bench@example.test", Role.ADMIN)
            client = c.clients.create_client(admin, "Contoso")
            integration, _ = c.integrations.create(
                admin, Provider.NINJAONE, "NinjaOne", {"default_client_id": str(client.id)}
            )
            with c.pipeline.uow.write() as repos:
                rule = AlertRule(uuid.uuid4(), tenant.id, "everything", True, 1)
                repos.rules.save(rule, datetime.now(UTC), created=True)
            started = time.perf_counter()
            first = asyncio.run(c.sync.run(integration.id, SyncTrigger.MANUAL))
            seconds = time.perf_counter() - started
            started = time.perf_counter()
            second = asyncio.run(c.sync.run(integration.id, SyncTrigger.MANUAL))
            replay_seconds = time.perf_counter() - started
            with c.pipeline.uow.read() as repos:
                tickets = repos.tickets.count(tenant.id)
        finally:
            c.close()
    if first.created != count or first.errors or tickets != count:
        raise BenchError(
            f"the first run should create {count} alerts and tickets: {first.created} "
            f"created, {first.errors} errors, {tickets} tickets ({first.error})"
        )
    if second.unchanged != count or second.created:
        raise BenchError(f"the second run should change nothing: {second}")
    return {"alerts": count, "seconds": seconds, "replay_seconds": replay_seconds}


def _detail(measured: dict[str, float]) -> dict[str, object]:
    return {
        "alerts": int(measured["alerts"]),
        "seconds": round(measured["seconds"], 3),
        "replay_seconds": round(measured["replay_seconds"], 3),
        "bound_seconds": BOUND_SECONDS,
    }


@figure("sync_10000_alerts", unit="rows/s", baseline="raw_sqlite_insert")
def sync_10000_alerts(cfg: RunConfig) -> Measurement:
    """One sync of 10,000 new active alerts (alerts and tickets made per second)."""
    measured = _measure(cfg)
    return Measurement(measured["alerts"] / measured["seconds"], _detail(measured))


@figure("sync_10000_alerts_seconds", unit="s", limit=BOUND_SECONDS)
def sync_10000_alerts_seconds(cfg: RunConfig) -> Measurement:
    """The same sync's wall time (the issue's bound: under 10 s on SQLite)."""
    measured = _measure(cfg)
    return Measurement(measured["seconds"], _detail(measured))
