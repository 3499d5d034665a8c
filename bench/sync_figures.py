"""Reconciliation: one sync of 10,000 active alerts against the fake NinjaOne, on SQLite.

The provider is the fake NinjaOne public API v2 (tests/support/fake_ninjaone.py,
the one the end-to-end tests use) on a real socket on 127.0.0.1, holding 10,000
active alerts and their TRIGGERED activities, none of which Fleetward has seen
(the heaviest run: every one becomes an alert and a ticket, 2,000 devices times
5 conditions). Fleetward calls it through the real NinjaOne client: an OAuth
token, `GET /v2/alerts`, then `GET /v2/activities` page by page (1,000 a page,
newest first, as the fake pages them), every alert read by the webhook's own
normaliser; then the real SyncService, pipeline and storage. A second run of the
same list (everything unchanged) is in the detail.

Two figures come from the one measurement: alerts reconciled per second next to
the raw SQLite batched insert of the same run, and the run's seconds against the
issue's bound (under 10 s). The detail splits the run: `fetch_seconds` (the
client's `active_alerts()`: HTTP, JSON and normalising), of which
`fake_server_seconds` is the fake's own request handling (encoding excluded;
the fake runs on a thread of this process), and `storage_seconds` (the rest:
comparing, ingesting, tickets, all SQLite).
"""

from __future__ import annotations

import asyncio
import functools
import time
import uuid
from collections.abc import Mapping
from contextlib import ExitStack
from datetime import UTC, datetime
from typing import Any

# The fake lives with the tests that pin its vendor behaviour; the bench runs from
# the repository root, where `tests` is importable.
from tests.support.fake_api import Answer, Request, serve
from tests.support.fake_ninjaone import CLIENT_ID, CLIENT_SECRET, FakeNinjaOne

from bench.core import BenchError, Measurement, RunConfig, figure, scratch_dir
from fleetward.adapters.outbound import OutboundHttp
from fleetward.adapters.providers.apis import provider_api
from fleetward.bootstrap import build
from fleetward.config import Settings
from fleetward.domain.alerts import Alert, NormalizedEvent, Provider
from fleetward.domain.forwarding import parse_networks
from fleetward.domain.identity import Principal, Role
from fleetward.domain.integrations import Integration
from fleetward.domain.rules import AlertRule
from fleetward.domain.sync import SyncTrigger
from fleetward.services.ports import ProviderApi, ProviderApiFactory

ALERTS = 10_000
QUICK_ALERTS = 500
CONDITIONS = 5
BOUND_SECONDS = 10.0
LOOPBACK = "127.0.0.0/8"
START = datetime(2026, 1, 5, 10, 0, tzinfo=UTC).timestamp()


class TimedNinjaOne(FakeNinjaOne):
    """The fake NinjaOne, adding up the time it spends answering."""

    def __init__(self) -> None:
        super().__init__()
        self.busy_seconds = 0.0

    def handle(self, request: Request) -> Answer:
        started = time.perf_counter()
        try:
            return super().handle(request)
        finally:
            self.busy_seconds += time.perf_counter() - started


class TimedApi:
    """The real client, with the time its `active_alerts()` takes recorded."""

    def __init__(self, api: ProviderApi, seconds: list[float]) -> None:
        self.api = api
        self.seconds = seconds

    async def active_alerts(self) -> list[NormalizedEvent]:
        started = time.perf_counter()
        try:
            return await self.api.active_alerts()
        finally:
            self.seconds.append(time.perf_counter() - started)

    async def reset(self, alert: Alert, ticket_reference: str | None) -> None:
        raise BenchError("a sync never resets")

    async def acknowledge(self, alert: Alert) -> bool:
        raise BenchError("a sync never acknowledges")

    async def aclose(self) -> None:
        await self.api.aclose()


def timed(factory: ProviderApiFactory, seconds: list[float]) -> ProviderApiFactory:
    def make(integration: Integration, credentials: Mapping[str, str]) -> ProviderApi | None:
        api = factory(integration, credentials)
        return None if api is None else TimedApi(api, seconds)

    return make


def trigger_activity(i: int) -> dict[str, Any]:
    """The i-th condition's TRIGGERED activity, as NinjaOne's activity log has it."""
    device, condition = 1000 + i // CONDITIONS, i % CONDITIONS
    return {
        "id": 100_000 + i,
        "activityTime": START + i,
        "deviceId": device,
        "severity": "MAJOR",
        "priority": "HIGH",
        "seriesUid": f"00000000-0000-4000-8000-{i:012d}",
        "sourceConfigUid": f"00000000-0000-4000-9000-{condition:012d}",
        "sourceName": f"Condition {condition}",
        "subject": f"Condition {condition} triggered",
        "message": "Reported by the provider's API.",
        "activityType": "CONDITION",
        "statusCode": "TRIGGERED",
        "status": "Triggered",
        "type": "Condition",
        "data": {"message": {"code": f"condition_{condition}", "params": {}}},
        "device": {
            "id": device,
            "organizationId": 7,
            "nodeClass": "WINDOWS_WORKSTATION",
            "displayName": f"WS-{device}",
            "systemName": f"DESKTOP-{device}",
        },
    }


@functools.cache
def _measure(cfg: RunConfig) -> dict[str, float]:
    count = QUICK_ALERTS if cfg.quick else ALERTS
    fetches: list[float] = []
    with ExitStack() as stack:
        ninja = stack.enter_context(serve(TimedNinjaOne()))
        for i in range(count):
            ninja.trigger(trigger_activity(i))
        tmp = stack.enter_context(scratch_dir("sync"))
        settings = Settings(
            database_url=f"sqlite:///{tmp / 'bench.db'}",
            data_dir=tmp,
            outbound_allow_cidrs=LOOPBACK,
        )
        apis = provider_api(OutboundHttp(parse_networks(LOOPBACK)))
        c = build(settings, migrate_schema=True, provider_apis=timed(apis, fetches))
        stack.callback(c.close)
        tenant = c.identity.create_tenant("Bench MSP")
        admin = Principal(tenant.id, uuid.uuid4(), "bench@example.test", Role.ADMIN)
        client = c.clients.create_client(admin, "Contoso")
        integration, _ = c.integrations.create(
            admin,
            Provider.NINJAONE,
            "NinjaOne",
            {"default_client_id": str(client.id), "api_base_url": ninja.url},
            {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
        )
        with c.pipeline.uow.write() as repos:
            rule = AlertRule(uuid.uuid4(), tenant.id, "everything", True, 1)
            repos.rules.save(rule, datetime.now(UTC), created=True)
        started = time.perf_counter()
        first = asyncio.run(c.sync.run(integration.id, SyncTrigger.MANUAL))
        seconds = time.perf_counter() - started
        server_seconds, requests = ninja.busy_seconds, len(ninja.requests)
        started = time.perf_counter()
        second = asyncio.run(c.sync.run(integration.id, SyncTrigger.MANUAL))
        replay_seconds = time.perf_counter() - started
        with c.pipeline.uow.read() as repos:
            tickets = repos.tickets.count(tenant.id)
    if first.created != count or first.errors or tickets != count:
        raise BenchError(
            f"the first run should create {count} alerts and tickets: {first.created} "
            f"created, {first.errors} errors, {tickets} tickets ({first.error})"
        )
    if second.unchanged != count or second.created:
        raise BenchError(f"the second run should change nothing: {second}")
    return {
        "alerts": count,
        "seconds": seconds,
        "fetch_seconds": fetches[0],
        "fake_server_seconds": server_seconds,
        "storage_seconds": seconds - fetches[0],
        "requests": requests,
        "replay_seconds": replay_seconds,
        "replay_fetch_seconds": fetches[1],
    }


def _detail(measured: dict[str, float]) -> dict[str, object]:
    detail: dict[str, object] = {
        name: round(value, 3) for name, value in measured.items() if name.endswith("seconds")
    }
    return {
        "alerts": int(measured["alerts"]),
        "provider": "fake NinjaOne over HTTP on 127.0.0.1 (real client)",
        "requests": int(measured["requests"]),
        **detail,
        "bound_seconds": BOUND_SECONDS,
    }


@figure("sync_10000_alerts", unit="rows/s", baseline="raw_sqlite_insert")
def sync_10000_alerts(cfg: RunConfig) -> Measurement:
    """One sync of 10,000 new active alerts from the fake NinjaOne (alerts and tickets/s)."""
    measured = _measure(cfg)
    return Measurement(measured["alerts"] / measured["seconds"], _detail(measured))


@figure("sync_10000_alerts_seconds", unit="s", limit=BOUND_SECONDS)
def sync_10000_alerts_seconds(cfg: RunConfig) -> Measurement:
    """The same sync's wall time (the issue's bound: under 10 s on SQLite)."""
    measured = _measure(cfg)
    return Measurement(measured["seconds"], _detail(measured))
