"""The pipeline caches a tenant's rules, windows, mappings and boards by config_version.

Database triggers bump the number on every change to those tables, whoever
makes it, so a change made through another node (another container on the
same database, here) or by hand in SQL reaches the very next alert.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from fleetward.bootstrap import Container, build
from fleetward.config import Settings
from fleetward.domain.rules import RuleActions
from fleetward.entrypoints.http.app import create_app
from tests.conftest import FAST_PASSWORDS, TenantFixture
from tests.support.pipeline import add_rule, make_client, make_integration, map_org, post, sample


def version(container: Container, tenant_id: uuid.UUID) -> int:
    with container.pipeline.uow.read() as repos:
        return int(repos.tenants.config_version(tenant_id))


def trigger(activity_id: int, device: int, org: int = 7) -> dict[str, Any]:
    body = sample("ninjaone", "condition_triggered")
    body.update(id=activity_id, seriesUid=f"series-{activity_id}", deviceId=device)
    body["device"]["id"] = device
    body["device"]["organizationId"] = org
    return body


@pytest.fixture
def other_node(settings: Settings) -> Iterator[Container]:
    """A second Fleetward on the same database: its own caches, its own connections."""
    node = build(settings, passwords=FAST_PASSWORDS)
    yield node
    node.close()


@pytest.fixture
def ninja(client: TestClient, tenant: TenantFixture) -> dict[str, Any]:
    integration = make_integration(client, tenant, "ninjaone")
    integration["client_id"] = make_client(client, tenant, "Contoso")
    map_org(client, tenant, integration, 7, integration["client_id"])
    return integration


def test_every_kind_of_config_change_moves_the_version(
    container: Container, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    start = version(container, tenant.id)
    rule = add_rule(container, tenant.id)
    after_insert = version(container, tenant.id)
    assert after_insert > start
    with container.pipeline.uow.write() as repos:
        repos.rules.save(dataclasses.replace(rule, name="renamed"), datetime.now(UTC), False)
    after_update = version(container, tenant.id)
    assert after_update > after_insert
    with container.pipeline.uow.write() as repos:
        assert repos.rules.delete(tenant.id, rule.id)
    assert version(container, tenant.id) > after_update
    # Another tenant's number is its own.
    assert version(container, other_tenant.id) == 0


def test_a_rule_changed_on_another_node_applies_to_the_next_alert(
    client: TestClient,
    container: Container,
    other_node: Container,
    tenant: TenantFixture,
    ninja: dict[str, Any],
) -> None:
    rule = add_rule(container, tenant.id)
    assert post(client, ninja, trigger(1, device=1)).json()["result"] == "created"
    # The other node turns ticket creation off; this node has the rule book cached.
    quiet = dataclasses.replace(rule, actions=RuleActions(create_ticket=False))
    with other_node.pipeline.uow.write() as repos:
        repos.rules.save(quiet, datetime.now(UTC), created=False)
    answer = post(client, ninja, trigger(2, device=2)).json()
    assert answer["result"] == "recorded"


def test_a_window_added_on_another_node_suppresses_the_next_alert(
    client: TestClient,
    other_node: Container,
    container: Container,
    tenant: TenantFixture,
    ninja: dict[str, Any],
) -> None:
    add_rule(container, tenant.id)
    assert post(client, ninja, trigger(1, device=1)).json()["result"] == "created"
    now = datetime.now(UTC)
    other = TestClient(create_app(other_node))
    made = other.post(
        "/api/v1/maintenance-windows",
        json={
            "name": "Patch night",
            "starts_at": (now - timedelta(hours=1)).isoformat(),
            "ends_at": (now + timedelta(hours=1)).isoformat(),
        },
        headers=tenant.admin.headers,
    )
    assert made.status_code == 201, made.text
    body = trigger(2, device=2)
    body["activityTime"] = now.timestamp()
    assert post(client, ninja, body).json()["result"] == "suppressed"


def test_a_mapping_removed_by_hand_in_sql_is_seen_at_once(
    client: TestClient, container: Container, tenant: TenantFixture, ninja: dict[str, Any]
) -> None:
    add_rule(container, tenant.id)
    first = post(client, ninja, trigger(1, device=1)).json()
    assert first["result"] == "created"
    with container.db.write() as conn:
        conn.execute(text("DELETE FROM org_mapping"))
    # Organisation 7 maps to nobody now, and NinjaOne integrations have no default
    # client here: a new device of it is recorded without a client or ticket.
    assert post(client, ninja, trigger(2, device=2)).json()["result"] == "recorded"
