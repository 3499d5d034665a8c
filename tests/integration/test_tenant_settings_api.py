"""/api/v1/tenant/settings: read by every role, changed by admins, checked, audited,
per tenant, and seen by the very next alert on any node (tenant.config_version)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fleetward.bootstrap import Container, build
from fleetward.config import Settings
from fleetward.domain.rules import RuleActions
from fleetward.entrypoints.http.app import create_app
from tests.conftest import FAST_PASSWORDS, TenantFixture
from tests.support.api import assert_error
from tests.support.pipeline import (
    add_rule,
    make_client,
    make_integration,
    map_org,
    post,
    sample,
    tickets,
)

PATH = "/api/v1/tenant/settings"
DEFAULTS = {"reopen_window_minutes": 60, "flap_threshold": 5, "flap_window_minutes": 60}


def version(container: Container, tenant: TenantFixture) -> int:
    with container.pipeline.uow.read() as repos:
        return int(repos.tenants.config_version(tenant.id))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_every_role_reads_the_settings_and_only_admins_change_them(
    client: TestClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    for actor in (tenant.admin, tenant.operator, tenant.readonly):
        answer = client.get(PATH, headers=actor.headers)
        assert answer.status_code == 200, answer.text
        assert answer.json() == DEFAULTS
    for actor in (tenant.operator, tenant.readonly):
        refused = client.patch(PATH, json={"flap_threshold": 3}, headers=actor.headers)
        assert_error(refused, 403, "forbidden")

    changed = client.patch(PATH, json={"flap_threshold": 3}, headers=tenant.admin.headers)
    assert changed.status_code == 200, changed.text
    assert changed.json() == {**DEFAULTS, "flap_threshold": 3}
    assert client.get(PATH, headers=tenant.readonly.headers).json()["flap_threshold"] == 3
    # Another tenant's settings are its own.
    assert client.get(PATH, headers=other_tenant.readonly.headers).json() == DEFAULTS

    log = client.get(
        "/api/v1/audit-log",
        params={"action": "tenant.settings_update"},
        headers=tenant.admin.headers,
    ).json()["items"]
    assert len(log) == 1
    assert (log[0]["before"], log[0]["after"]) == ({"flap_threshold": 5}, {"flap_threshold": 3})
    assert log[0]["actor_label"].startswith(tenant.admin.email)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reopen_window_minutes": -1}, "reopen_window_minutes"),
        ({"reopen_window_minutes": 10081}, "reopen_window_minutes"),
        ({"flap_threshold": 0}, "flap_threshold"),
        ({"flap_threshold": 1001}, "flap_threshold"),
        ({"flap_window_minutes": 0}, "flap_window_minutes"),
        ({"flap_window_minutes": "60"}, "flap_window_minutes"),
        ({"flap_window_minutes": 1.5}, "flap_window_minutes"),
        ({"flap_threshold": True}, "flap_threshold"),
        ({"flap_threshold": None}, "flap_threshold"),
        ({"flap_treshold": 3}, "flap_treshold"),
    ],
)
def test_a_bad_value_is_refused_naming_the_field_and_nothing_changes(
    client: TestClient, tenant: TenantFixture, body: dict[str, Any], field: str
) -> None:
    refused = client.patch(PATH, json=body, headers=tenant.admin.headers)
    assert_error(refused, 422, "invalid", field=field)
    assert client.get(PATH, headers=tenant.admin.headers).json() == DEFAULTS


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_bounds_themselves_are_accepted(client: TestClient, tenant: TenantFixture) -> None:
    low = {"reopen_window_minutes": 0, "flap_threshold": 1, "flap_window_minutes": 1}
    high = {"reopen_window_minutes": 10080, "flap_threshold": 1000, "flap_window_minutes": 10080}
    for body in (low, high):
        answer = client.patch(PATH, json=body, headers=tenant.admin.headers)
        assert answer.status_code == 200, answer.text
        assert answer.json() == body


@pytest.fixture
def other_node(settings: Settings) -> Iterator[TestClient]:
    """A second Fleetward on the same database, with its own caches."""
    node = build(settings, passwords=FAST_PASSWORDS)
    with TestClient(create_app(node)) as tc:
        yield tc
    node.close()


def test_a_change_on_another_node_applies_to_the_next_alert(
    client: TestClient, container: Container, other_node: TestClient, tenant: TenantFixture
) -> None:
    integration = make_integration(client, tenant, "ninjaone")
    map_org(client, tenant, integration, 7, make_client(client, tenant, "Contoso"))
    add_rule(container, tenant.id, actions=RuleActions(auto_resolve_ticket=True))

    def send(name: str, activity_id: int) -> None:
        body = sample("ninjaone", name)
        body.update(id=activity_id, seriesUid=f"s{activity_id // 2}")
        assert post(client, integration, body).status_code == 200

    send("condition_triggered", 2)
    send("condition_reset", 3)
    send("condition_triggered", 4)  # this node's view now holds the default window
    assert len(tickets(container, tenant.id)) == 1
    send("condition_reset", 5)

    before = version(container, tenant)
    off = {"reopen_window_minutes": 0}
    assert other_node.patch(PATH, json=off, headers=tenant.admin.headers).status_code == 200
    assert version(container, tenant) > before
    send("condition_triggered", 6)
    assert sorted(t.is_closed for t in tickets(container, tenant.id)) == [False, True]
