"""Domain events written with their change: which changes emit which event, with what
document (docs/webhooks.md), and suppressed alerts emit none. The event rows are what
subscriptions are later sent; delivery itself is tested in test_webhook_subscriptions.py."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from fleetward.adapters.storage import schema
from fleetward.bootstrap import Container
from fleetward.domain.rules import RuleActions
from fleetward.services.events import ALERT_FIELDS, TICKET_FIELDS
from tests.conftest import TenantFixture
from tests.integration.test_tickets_lifecycle import move
from tests.support.pipeline import (
    add_rule,
    make_client,
    make_integration,
    map_org,
    post,
    sample,
    window_around,
)


def events(container: Container, tenant_id: uuid.UUID) -> list[tuple[str, dict[str, Any]]]:
    e = schema.domain_event
    with container.db.read() as conn:
        rows = conn.execute(
            select(e.c.type, e.c.payload).where(e.c.tenant_id == tenant_id).order_by(e.c.id)
        ).all()
    return [(row.type, row.payload) for row in rows]


def types(container: Container, tenant_id: uuid.UUID) -> list[str]:
    return [kind for kind, _ in events(container, tenant_id)]


@pytest.fixture
def ninja(client: TestClient, tenant: TenantFixture, container: Container) -> dict[str, Any]:
    integration = make_integration(client, tenant, "ninjaone")
    integration["client_id"] = make_client(client, tenant, "Contoso")
    map_org(client, tenant, integration, 7, integration["client_id"])
    add_rule(container, tenant.id, actions=RuleActions(auto_resolve_ticket=True))
    return integration


def ninja_event(name: str, activity_id: int, series: str) -> dict[str, Any]:
    body = sample("ninjaone", name)
    body.update(id=activity_id, seriesUid=series)
    return body


def test_a_trigger_and_its_reset_emit_created_triggered_resolved_and_closed(
    client: TestClient, tenant: TenantFixture, container: Container, ninja: dict[str, Any]
) -> None:
    answer = post(client, ninja, ninja_event("condition_triggered", 1, "s1")).json()
    assert types(container, tenant.id) == ["ticket.created", "alert.triggered"]
    (_, created), (_, triggered) = events(container, tenant.id)
    assert set(triggered["alert"]) == set(ALERT_FIELDS)
    assert triggered["alert"]["id"] == answer["alert_id"]
    assert triggered["alert"]["status"] == "active"
    assert triggered["alert"]["ticket_id"] == created["ticket"]["id"]
    assert "tenant_id" not in triggered["alert"] and "tenant_id" not in created["ticket"]
    assert set(created["ticket"]) == set(TICKET_FIELDS) and created["by"] == "alert"

    post(client, ninja, ninja_event("condition_triggered", 2, "s1"))  # same condition again
    assert types(container, tenant.id)[2:] == ["ticket.updated", "alert.triggered"]
    updated = events(container, tenant.id)[2][1]
    assert updated["changes"] == ["occurrence_count"]
    assert updated["ticket"]["occurrence_count"] == 2

    post(client, ninja, ninja_event("condition_reset", 3, "s1"))
    assert types(container, tenant.id)[4:] == [
        "alert.resolved",
        "ticket.closed",
        "alert.resolved",
    ]
    resolved = [data for kind, data in events(container, tenant.id) if kind == "alert.resolved"]
    assert {data["alert"]["status"] for data in resolved} == {"resolved", "auto_resolved"}
    closed = next(data for kind, data in events(container, tenant.id) if kind == "ticket.closed")
    assert closed["by"] == "auto_resolve" and closed["ticket"]["is_closed"] is True


def test_a_suppressed_alert_emits_no_event_neither_when_stored_nor_when_reset(
    client: TestClient, tenant: TenantFixture, container: Container, ninja: dict[str, Any]
) -> None:
    body = ninja_event("condition_triggered", 1, "s1")
    at = datetime.fromtimestamp(body["activityTime"], UTC)
    window_around(container, tenant.id, ninja["client_id"], at)

    assert post(client, ninja, body).json()["result"] == "suppressed"
    assert post(client, ninja, ninja_event("condition_reset", 2, "s1")).json()["result"] == (
        "resolved"
    )
    assert events(container, tenant.id) == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_acknowledgement_from_the_sender_emits_alert_acknowledged(
    client: TestClient, tenant: TenantFixture, container: Container, ninja: dict[str, Any]
) -> None:
    post(client, ninja, ninja_event("condition_triggered", 1, "s1"))
    answer = post(client, ninja, ninja_event("condition_acknowledged", 2, "s1")).json()
    assert answer["result"] == "acknowledged"
    kind, data = events(container, tenant.id)[-1]
    assert (kind, data["alert"]["status"]) == ("alert.acknowledged", "acknowledged")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_people_acknowledging_and_resolving_an_alert_emit_the_same_documents(
    client: TestClient, tenant: TenantFixture, container: Container, ninja: dict[str, Any]
) -> None:
    alert_id = post(client, ninja, ninja_event("condition_triggered", 1, "s1")).json()["alert_id"]
    for action in ("acknowledge", "resolve"):
        done = client.post(f"/api/v1/alerts/{alert_id}/{action}", headers=tenant.operator.headers)
        assert done.status_code == 200, done.text
    (ack_kind, acked), (resolve_kind, resolved) = events(container, tenant.id)[-2:]
    assert (ack_kind, resolve_kind) == ("alert.acknowledged", "alert.resolved")
    assert set(acked["alert"]) == set(resolved["alert"]) == set(ALERT_FIELDS)
    assert acked["alert"]["acknowledged_by"] == str(tenant.operator.user_id)
    assert resolved["alert"]["status"] == "resolved"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_people_changing_and_closing_a_ticket_emit_updated_and_closed(
    client: TestClient, tenant: TenantFixture, container: Container, ninja: dict[str, Any]
) -> None:
    post(client, ninja, ninja_event("condition_triggered", 1, "s1"))
    (ticket,) = client.get("/api/v1/tickets", headers=tenant.admin.headers).json()["items"]
    renamed = client.patch(
        f"/api/v1/tickets/{ticket['id']}", json={"title": "CPU"}, headers=tenant.admin.headers
    )
    assert renamed.status_code == 200, renamed.text
    unchanged = client.patch(
        f"/api/v1/tickets/{ticket['id']}", json={"title": "CPU"}, headers=tenant.admin.headers
    )
    assert unchanged.status_code == 200
    kind, data = events(container, tenant.id)[-1]
    assert (kind, data["changes"], data["ticket"]["title"]) == ("ticket.updated", ["title"], "CPU")
    assert types(container, tenant.id).count("ticket.updated") == 1  # no change, no event

    assert move(client, tenant.admin, ticket, "Resolved").status_code == 200
    assert types(container, tenant.id)[-2:] == ["alert.resolved", "ticket.closed"]
    assert events(container, tenant.id)[-1][1]["by"] == "user"

    assert move(client, tenant.admin, ticket, "New").status_code == 200
    kind, data = events(container, tenant.id)[-1]
    assert kind == "ticket.updated" and "is_closed" in data["changes"]
