"""Helpers for tests of event-log alerts: watch rules, records as agents send them, results."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from fleetward.bootstrap import Container
from fleetward.domain.alerts import Alert, Provider
from fleetward.domain.integrations import Integration
from tests.conftest import TenantFixture
from tests.support.agents import T0, EnrolledAgent

MATCHES = "/api/v1/agent/matches"
WATCHES = "/api/v1/event-log-watches"


def new_watch(
    client: TestClient, tenant: TenantFixture, scope: dict[str, Any], **body: Any
) -> dict[str, Any]:
    made = client.post(
        WATCHES,
        json={
            "name": "Disk errors",
            "scope": scope,
            "log_name": "System",
            "event_ids": [7],
            "providers": ["disk"],
            "min_level": "warning",
            "alert_severity": "major",
            **body,
        },
        headers=tenant.admin.headers,
    )
    assert made.status_code == 201, made.text
    watch: dict[str, Any] = made.json()
    return watch


def record(record_id: int, **overrides: Any) -> dict[str, Any]:
    """A System-log disk error as an agent sends it (docs/agent-protocol.md)."""
    base: dict[str, Any] = {
        "log_name": "System",
        "provider": "disk",
        "event_id": 7,
        "level": 2,
        "record_id": str(record_id),
        "time_created": (T0 + timedelta(minutes=record_id)).isoformat().replace("+00:00", "Z"),
        "computer": "WS-01.contoso.local",
        "user_sid": None,
        "keywords": 0x80000000000000,
        "data": {"DeviceName": "\\Device\\Harddisk0\\DR0"},
        "message": "The device, \\Device\\Harddisk0\\DR0, has a bad block.",
    }
    base.update(overrides)
    return base


def send(client: TestClient, agent: EnrolledAgent, matches: list[dict[str, Any]]) -> Any:
    return client.post(MATCHES, json={"matches": matches}, headers=agent.headers)


def match(rule: dict[str, Any] | str, record_id: int, **overrides: Any) -> dict[str, Any]:
    rule_id = rule if isinstance(rule, str) else rule["id"]
    return {"rule_id": rule_id, "record": record(record_id, **overrides)}


def alerts(container: Container, tenant_id: uuid.UUID) -> list[Alert]:
    with container.pipeline.uow.read() as repos:
        return list(repos.alerts.page(tenant_id, 500, None).items)


def integrations(container: Container, tenant_id: uuid.UUID) -> list[Integration]:
    with container.pipeline.uow.read() as repos:
        return list(repos.integrations.page(tenant_id, 500, None).items)


def agent_integrations(container: Container, tenant_id: uuid.UUID) -> list[Integration]:
    return [i for i in integrations(container, tenant_id) if i.provider is Provider.AGENT]


def client_of_site(container: Container, tenant_id: uuid.UUID, site_id: str) -> uuid.UUID:
    with container.pipeline.uow.read() as repos:
        site = repos.sites.get(tenant_id, uuid.UUID(site_id))
    assert site is not None
    client_id: uuid.UUID = site.client_id
    return client_id
