"""Helpers for pipeline tests: integrations, rules, webhook posts, reading tickets."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi.testclient import TestClient
from httpx import Response

from fleetward.bootstrap import Container
from fleetward.domain.alerts import Alert
from fleetward.domain.maintenance import MaintenanceWindow
from fleetward.domain.rules import AlertRule, RuleActions, RuleConditions
from fleetward.domain.tickets import Comment, Ticket
from tests.conftest import TenantFixture

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "providers"


def sample(provider: str, name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SAMPLES / provider / f"{name}.json").read_text())
    return copy.deepcopy(loaded)


def make_client(client: TestClient, tenant: TenantFixture, name: str = "Contoso") -> str:
    response = client.post("/api/v1/clients", json={"name": name}, headers=tenant.admin.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def make_integration(
    client: TestClient, tenant: TenantFixture, provider: str, settings: dict[str, Any] | None = None
) -> dict[str, Any]:
    response = client.post(
        "/api/v1/integrations",
        json={
            "provider": provider,
            "name": f"{provider} {uuid.uuid4().hex[:6]}",
            "settings": settings or {},
        },
        headers=tenant.admin.headers,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def map_org(
    client: TestClient,
    tenant: TenantFixture,
    integration: dict[str, Any],
    org: str | int,
    client_id: str,
) -> None:
    response = client.post(
        f"/api/v1/integrations/{integration['id']}/mappings",
        json={"external_org_id": org, "client_id": client_id},
        headers=tenant.admin.headers,
    )
    assert response.status_code == 201, response.text


def add_rule(
    container: Container,
    tenant_id: uuid.UUID,
    name: str = "everything",
    conditions: RuleConditions | None = None,
    actions: RuleActions | None = None,
) -> AlertRule:
    """Straight into the store, so pipeline tests do not depend on the rules API."""
    with container.pipeline.uow.write() as repos:
        rule = AlertRule(
            uuid.uuid4(),
            tenant_id,
            name,
            True,
            repos.rules.next_position(tenant_id),
            conditions or RuleConditions(),
            actions or RuleActions(),
        )
        repos.rules.save(rule, datetime.now(UTC), created=True)
    return rule


def post(client: TestClient, integration: dict[str, Any], payload: Any, **headers: str) -> Response:
    sent = {"X-Fleetward-Token": integration["webhook_secret"], **headers}
    return client.post(urlsplit(integration["webhook_url"]).path, json=payload, headers=sent)


def tickets(container: Container, tenant_id: uuid.UUID) -> list[Ticket]:
    with container.pipeline.uow.read() as repos:
        return list(repos.tickets.page(tenant_id, 500, None).items)


def ticket(container: Container, tenant_id: uuid.UUID, ticket_id: str | uuid.UUID) -> Ticket:
    with container.pipeline.uow.read() as repos:
        found: Ticket = repos.tickets.get(tenant_id, uuid.UUID(str(ticket_id)))
    return found


def comments(
    container: Container, tenant_id: uuid.UUID, ticket_id: str | uuid.UUID
) -> list[Comment]:
    with container.pipeline.uow.read() as repos:
        page = repos.comments.page(tenant_id, 500, None, ticket_id=uuid.UUID(str(ticket_id)))
    return list(page.items)


def alert(container: Container, tenant_id: uuid.UUID, alert_id: str | uuid.UUID) -> Alert:
    with container.pipeline.uow.read() as repos:
        found: Alert = repos.alerts.get(tenant_id, uuid.UUID(str(alert_id)))
    return found


def window_around(container: Container, tenant_id: uuid.UUID, client_id: str, at: datetime) -> None:
    """A maintenance window for the client from an hour before `at` to an hour after."""
    window = MaintenanceWindow(
        uuid.uuid4(),
        tenant_id,
        "patching",
        None,
        uuid.UUID(client_id),
        None,
        at - timedelta(hours=1),
        at + timedelta(hours=1),
        None,
    )
    with container.pipeline.uow.write() as repos:
        repos.windows.save(window, datetime.now(UTC), created=True)
