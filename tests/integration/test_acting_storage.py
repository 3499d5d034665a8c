"""The reads behind the dashboard's actions, on both engines: when an integration last
received a webhook (from its newest alert, receipt or dead letter), and one object's
audit entries (a ticket's history)."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi.testclient import TestClient
from sqlalchemy import select

from fleetward.adapters.storage import schema
from fleetward.bootstrap import Container
from tests.conftest import TenantFixture
from tests.support.pages import api, trigger
from tests.support.pipeline import make_client, make_integration, post


def newest(container: Container, table: str, integration_id: str) -> datetime:
    t = schema.metadata.tables[table]
    with container.pipeline.uow.read() as repos:
        conn = repos.conn  # type: ignore[attr-defined]
        query = select(t.c.created_at).where(t.c.integration_id == uuid.UUID(integration_id))
        found: datetime = max(row[0] for row in conn.execute(query))
    return found


def last_received(container: Container, tenant_id: uuid.UUID, *ids: str) -> dict[str, datetime]:
    with container.pipeline.uow.read() as repos:
        found = repos.integrations.last_received(tenant_id, [uuid.UUID(i) for i in ids])
    return {str(key): value for key, value in found.items()}


def test_the_last_webhook_is_the_newest_alert_receipt_or_dead_letter(
    client: TestClient, tenant: TenantFixture, other_tenant: TenantFixture, container: Container
) -> None:
    client_id = make_client(client, tenant, "Contoso")
    one = make_integration(client, tenant, "generic", {"default_client_id": client_id})
    two = make_integration(client, tenant, "generic")
    theirs = make_integration(client, other_tenant, "generic")
    assert last_received(container, tenant.id, one["id"], two["id"]) == {}

    assert post(client, one, trigger("t1")).status_code == 200
    assert last_received(container, tenant.id, one["id"]) == {
        one["id"]: newest(container, "alert", one["id"])
    }
    reset = trigger("r1", kind="reset", series_key="t1")
    assert post(client, one, reset).status_code == 200
    assert last_received(container, tenant.id, one["id"]) == {
        one["id"]: newest(container, "alert_receipt", one["id"])
    }
    assert post(client, two, {"kind": "triggered"}).status_code == 400
    assert post(client, theirs, trigger("t9")).status_code == 200
    found = last_received(container, tenant.id, one["id"], two["id"], theirs["id"])
    # Another tenant's integration is not named, even asked for by id.
    assert set(found) == {one["id"], two["id"]}
    assert found[two["id"]] == newest(container, "dead_letter", two["id"])


def test_an_objects_audit_entries_oldest_first_in_its_own_tenant(
    client: TestClient, tenant: TenantFixture, other_tenant: TenantFixture, container: Container
) -> None:
    ticket = api(client, tenant, "POST", "/api/v1/tickets", json={"title": "Printer"})
    for title in ("Printer jam", "Printer jam, floor 2"):
        api(client, tenant, "PATCH", f"/api/v1/tickets/{ticket['id']}", json={"title": title})
    with container.pipeline.uow.read() as repos:
        entries = repos.audit.of_object(tenant.id, "ticket", ticket["id"], 2)
        elsewhere = repos.audit.of_object(other_tenant.id, "ticket", ticket["id"], 10)
    assert [e.action for e in entries] == ["ticket.update", "ticket.update"]  # the newest two
    assert [e.after and e.after["title"] for e in entries] == [
        "Printer jam",
        "Printer jam, floor 2",
    ]
    assert elsewhere == []
