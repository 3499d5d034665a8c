"""The dashboard's alert actions: buttons on an alert, bulk on the list, the provider
calls shown on the alert, the triage page's "map and reprocess", a device's history."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fleetward.bootstrap import Container, build
from fleetward.config import Settings
from fleetward.entrypoints.http.app import create_app
from tests.conftest import FAST_PASSWORDS, TenantFixture
from tests.integration.test_pages import log_in
from tests.support.aio import run_coroutine
from tests.support.fake_provider import FakeProvider
from tests.support.pages import api, flash, forms, trigger
from tests.support.pipeline import add_rule, make_client, make_integration, post, sample

pytestmark = pytest.mark.sqlite_only


@pytest.fixture
def provider() -> FakeProvider:
    return FakeProvider()


@pytest.fixture
def container(settings: Settings, provider: FakeProvider) -> Iterator[Container]:
    c = build(settings, passwords=FAST_PASSWORDS, provider_apis=provider.factory)
    yield c
    c.close()


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container)) as tc:
        yield tc


def generic_alerts(
    client: TestClient, tenant: TenantFixture, container: Container, count: int = 1
) -> list[str]:
    client_id = make_client(client, tenant, "Contoso")
    integration = make_integration(client, tenant, "generic", {"default_client_id": client_id})
    add_rule(container, tenant.id)
    ids = []
    for n in range(count):
        answer = post(client, integration, trigger(f"a{n}", title=f"Disk {n} full"))
        assert answer.status_code == 200, answer.text
        ids.append(answer.json()["alert_id"])
    return ids


def status_of(client: TestClient, tenant: TenantFixture, alert_id: str) -> str:
    return str(api(client, tenant, "GET", f"/api/v1/alerts/{alert_id}")["status"])


def test_an_operator_acknowledges_and_resolves_from_the_alert_page(
    client: TestClient, tenant: TenantFixture, container: Container
) -> None:
    (alert_id,) = generic_alerts(client, tenant, container)
    token = log_in(client, tenant.operator.email)
    page = client.get(f"/alerts/{alert_id}")
    assert f"/alerts/{alert_id}/acknowledge" in forms(page)
    assert f"/alerts/{alert_id}/resolve" in forms(page)
    assert f"/alerts/{alert_id}/ticket" not in forms(page)  # it has one

    refused = client.post(f"/alerts/{alert_id}/acknowledge", data={"csrf_token": "forged"})
    assert refused.status_code == 403
    assert status_of(client, tenant, alert_id) == "active"

    done = client.post(f"/alerts/{alert_id}/acknowledge", data={"csrf_token": token})
    assert done.status_code == 200  # followed to the alert page
    assert "Alert acknowledged." in done.text
    assert f"by {tenant.operator.email}" in done.text
    assert f"/alerts/{alert_id}/acknowledge" not in forms(done)

    resolved = client.post(f"/alerts/{alert_id}/resolve", data={"csrf_token": token})
    assert "Alert resolved." in resolved.text
    assert status_of(client, tenant, alert_id) == "resolved"
    again = client.post(f"/alerts/{alert_id}/acknowledge", data={"csrf_token": token})
    assert again.status_code == 409  # a resolved alert is not acknowledged


def test_read_only_users_see_no_action_forms(
    client: TestClient, tenant: TenantFixture, container: Container
) -> None:
    (alert_id,) = generic_alerts(client, tenant, container)
    token = log_in(client, tenant.readonly.email)
    assert forms(client.get(f"/alerts/{alert_id}")) == []
    assert "/alerts/bulk" not in forms(client.get("/alerts"))
    refused = client.post(f"/alerts/{alert_id}/resolve", data={"csrf_token": token})
    assert refused.status_code == 403
    assert status_of(client, tenant, alert_id) == "active"


def test_bulk_acknowledge_from_the_list(
    client: TestClient, tenant: TenantFixture, container: Container
) -> None:
    ids = generic_alerts(client, tenant, container, count=3)
    token = log_in(client, tenant.operator.email)
    listing = client.get("/alerts")
    assert "/alerts/bulk" in forms(listing)
    assert len(re.findall(r'name="alert_ids"', listing.text)) == 3
    data: dict[str, Any] = {"csrf_token": token, "action": "acknowledge", "alert_ids": ids[:2]}
    done = client.post("/alerts/bulk", data=data)
    assert done.status_code == 200
    assert "Acknowledged: 2 acknowledged." in done.text
    assert [status_of(client, tenant, i) for i in ids] == ["acknowledged"] * 2 + ["active"]
    forged = client.post("/alerts/bulk", data={**data, "csrf_token": "x", "action": "resolve"})
    assert forged.status_code == 403
    assert status_of(client, tenant, ids[0]) == "acknowledged"


def test_a_failed_reset_shows_on_the_alert_page_with_its_attempts(
    client: TestClient, tenant: TenantFixture, container: Container, provider: FakeProvider
) -> None:
    client_id = make_client(client, tenant, "Contoso")
    ninja = make_integration(client, tenant, "ninjaone", {"default_client_id": client_id})
    add_rule(container, tenant.id)
    alert_id = post(client, ninja, sample("ninjaone", "condition_triggered")).json()["alert_id"]
    alert = api(client, tenant, "GET", f"/api/v1/alerts/{alert_id}")
    ticket = api(client, tenant, "GET", f"/api/v1/tickets/{alert['ticket_id']}")
    statuses = api(client, tenant, "GET", f"/api/v1/boards/{ticket['board_id']}/statuses")
    closed = next(s for s in statuses["items"] if s["kind"] == "closed")
    provider.failures = 5
    api(
        client, tenant, "PATCH", f"/api/v1/tickets/{ticket['id']}", json={"status_id": closed["id"]}
    )
    run_coroutine(container.jobs.run_until_idle())

    log_in(client, tenant.readonly.email)
    page = client.get(f"/alerts/{alert_id}")
    assert 'data-testid="outbound-error"' in page.text
    assert "503 Service Unavailable" in page.text
    assert "provider.reset" in page.text
    assert "reset failed (attempt 1): will retry" in page.text


def test_triage_maps_an_organisation_and_reprocesses_its_alerts(
    client: TestClient, tenant: TenantFixture, container: Container
) -> None:
    client_id = make_client(client, tenant, "Contoso")
    ninja = make_integration(client, tenant, "ninjaone")
    add_rule(container, tenant.id)
    for n in (1, 2):
        body = sample("ninjaone", "condition_triggered")
        body.update(id=n, seriesUid=f"s{n}")
        assert post(client, ninja, body).json()["result"] == "recorded"

    log_in(client, tenant.operator.email)
    page = client.get("/triage")
    assert 'href="/triage"' in page.text  # the navigation links it
    assert page.text.count('data-testid="triage-group"') == 1
    assert "/triage/map" not in forms(page)  # mapping is an admin's setting

    client.cookies.clear()
    token = log_in(client, tenant.admin.email)
    assert "/triage/map" in forms(client.get("/triage"))
    data = {
        "csrf_token": token,
        "integration_id": ninja["id"],
        "external_org_id": "7",
        "client_id": client_id,
    }
    done = client.post("/triage/map", data=data)
    assert done.status_code == 200
    assert "2 alert(s) reprocessed (2 created)" in done.text
    assert "Nothing to triage" in done.text
    assert len(api(client, tenant, "GET", "/api/v1/tickets")["items"]) == 1


def test_a_device_page_lists_its_alerts(
    client: TestClient, tenant: TenantFixture, container: Container, other_tenant: TenantFixture
) -> None:
    ids = generic_alerts(client, tenant, container, count=2)
    asset_id = api(client, tenant, "GET", f"/api/v1/alerts/{ids[0]}")["asset_id"]
    log_in(client, tenant.readonly.email)
    alert_page = client.get(f"/alerts/{ids[0]}")
    assert f'href="/assets/{asset_id}"' in alert_page.text
    page = client.get(f"/assets/{asset_id}")
    assert page.status_code == 200
    assert page.text.index("Disk 1 full") < page.text.index("Disk 0 full")  # newest first
    client.cookies.clear()
    log_in(client, other_tenant.admin.email)
    assert client.get(f"/assets/{asset_id}").status_code == 404


def test_open_ticket_for_the_checked_alerts_of_the_list(
    client: TestClient, tenant: TenantFixture
) -> None:
    """No rule made tickets for them: the list's "Open ticket" opens one per condition,
    and says why an alert that has one already was left alone."""
    client_id = make_client(client, tenant, "Contoso")
    integration = make_integration(client, tenant, "generic", {"default_client_id": client_id})
    ids = []
    for n in range(3):
        answer = post(client, integration, trigger(f"a{n}", title=f"Disk {n} full"))
        ids.append(answer.json()["alert_id"])
    assert all(api(client, tenant, "GET", f"/api/v1/alerts/{i}")["ticket_id"] is None for i in ids)
    token = log_in(client, tenant.operator.email)
    assert 'name="action" value="ticket"' in client.get("/alerts").text

    data: dict[str, Any] = {"csrf_token": token, "action": "ticket", "alert_ids": ids[:2]}
    done = client.post("/alerts/bulk", data=data)
    assert flash(done) == "Tickets opened: 2 ticketed."
    tickets = [api(client, tenant, "GET", f"/api/v1/alerts/{i}")["ticket_id"] for i in ids]
    assert tickets[0] and tickets[1] and tickets[0] != tickets[1] and tickets[2] is None

    again = client.post("/alerts/bulk", data={**data, "alert_ids": ids})
    assert flash(again).startswith("Tickets opened: 2 conflict, 1 ticketed. Not changed: ")
    assert "the alert has a ticket already" in flash(again)


def test_acknowledging_from_the_list_says_why_some_were_not(
    client: TestClient, tenant: TenantFixture, container: Container
) -> None:
    ids = generic_alerts(client, tenant, container, count=2)
    api(client, tenant, "POST", f"/api/v1/alerts/{ids[1]}/resolve")
    token = log_in(client, tenant.operator.email)
    data = {"csrf_token": token, "action": "acknowledge", "alert_ids": ids}
    done = client.post("/alerts/bulk", data=data)
    assert flash(done) == (
        "Acknowledged: 1 acknowledged, 1 conflict. Not changed: "
        "the alert is resolved: only an active alert is acknowledged."
    )
    assert [status_of(client, tenant, i) for i in ids] == ["acknowledged", "resolved"]
