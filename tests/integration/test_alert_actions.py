"""People acting on alerts over the API: acknowledge, resolve, open a ticket, in bulk;
triage of alerts without a client and their reprocessing; an asset's alert history.

Operators and admins act, read-only users get 403, another tenant's alert is a
404 recorded in its owner's audit log, and every action is idempotent.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fleetward.bootstrap import Container, build
from fleetward.config import Settings
from fleetward.domain.rules import RuleActions
from fleetward.entrypoints.http.app import create_app
from tests.conftest import FAST_PASSWORDS, Actor, TenantFixture
from tests.support.aio import run_coroutine
from tests.support.api import assert_error, audit_entries, cross_tenant_entries
from tests.support.fake_provider import FakeProvider
from tests.support.pipeline import (
    add_rule,
    comments,
    make_client,
    make_integration,
    map_org,
    post,
    sample,
)

# Engine-independent tests pin SQLite; those whose SQL is new (the job queue, the
# alert filters, the trace written back) run on both engines.
SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


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


def ninja(client: TestClient, tenant: TenantFixture, mapped: bool = True) -> dict[str, Any]:
    integration = make_integration(client, tenant, "ninjaone")
    integration["client_id"] = make_client(client, tenant, f"Contoso {uuid.uuid4().hex[:4]}")
    if mapped:
        map_org(client, tenant, integration, 7, integration["client_id"])
    return integration


def fire(
    client: TestClient,
    integration: dict[str, Any],
    activity_id: int,
    device: int = 1042,
    org: int = 7,
) -> str:
    body = sample("ninjaone", "condition_triggered")
    body.update(id=activity_id, seriesUid=f"series-{activity_id}", deviceId=device)
    body["device"].update(id=device, displayName=f"PC-{device}", organizationId=org)
    answer = post(client, integration, body)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["alert_id"])


def act(client: TestClient, actor: Actor, alert_id: str, action: str) -> Any:
    return client.post(f"/api/v1/alerts/{alert_id}/{action}", headers=actor.headers)


def get_alert(client: TestClient, actor: Actor, alert_id: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/alerts/{alert_id}", headers=actor.headers)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def run_jobs(container: Container) -> int:
    return run_coroutine(container.jobs.run_until_idle())


def test_acknowledge_once_by_an_operator_and_at_the_provider(
    client: TestClient, tenant: TenantFixture, container: Container, provider: FakeProvider
) -> None:
    integration = ninja(client, tenant)
    add_rule(container, tenant.id)
    alert_id = fire(client, integration, 501)

    assert_error(act(client, tenant.readonly, alert_id, "acknowledge"), 403)
    first = act(client, tenant.operator, alert_id, "acknowledge")
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["status"] == "acknowledged"
    assert body["acknowledged_by"] == str(tenant.operator.user_id)
    assert body["acknowledged_at"] is not None
    again = act(client, tenant.admin, alert_id, "acknowledge")
    assert again.status_code == 200, again.text
    assert again.json()["acknowledged_by"] == str(tenant.operator.user_id)  # unchanged

    assert run_jobs(container) == 1
    assert provider.acknowledged == ["501"]  # once, though acknowledged twice
    shown = get_alert(client, tenant.readonly, alert_id)
    assert shown["trace"]["outbound"][-1]["result"] == "acknowledged at the provider"
    entries = audit_entries(client, tenant.admin.headers, action="alert.acknowledge")
    assert [e["object_id"] for e in entries] == [alert_id]
    ticket = shown["ticket_id"]
    bodies = [c.body for c in comments(container, tenant.id, ticket)]
    assert f"Alert acknowledged by {tenant.operator.email} (api key)" in bodies[-1]


@SQLITE
def test_a_provider_without_acknowledgements_is_said_so(
    client: TestClient, tenant: TenantFixture, container: Container, provider: FakeProvider
) -> None:
    provider.supports_acknowledge = False
    integration = ninja(client, tenant)
    alert_id = fire(client, integration, 502)
    assert act(client, tenant.operator, alert_id, "acknowledge").status_code == 200
    run_jobs(container)
    shown = get_alert(client, tenant.operator, alert_id)
    assert "has no acknowledgement" in shown["trace"]["outbound"][-1]["result"]
    assert shown["outbound_error"] is None


@SQLITE
def test_resolve_comments_on_the_ticket_and_is_idempotent(
    client: TestClient, tenant: TenantFixture, container: Container, provider: FakeProvider
) -> None:
    integration = ninja(client, tenant)
    add_rule(container, tenant.id)
    alert_id = fire(client, integration, 503)
    resolved = act(client, tenant.operator, alert_id, "resolve")
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["status"] == "resolved"
    assert resolved.json()["resolved_at"] is not None
    assert act(client, tenant.operator, alert_id, "resolve").json() == resolved.json()
    ticket = resolved.json()["ticket_id"]
    bodies = [c.body for c in comments(container, tenant.id, ticket)]
    assert [b for b in bodies if b.startswith("Alert resolved by")] == [
        f"Alert resolved by {tenant.operator.email} (api key): CPU usage above 90% for 5 minutes"
    ]
    refused = act(client, tenant.operator, alert_id, "acknowledge")
    assert_error(refused, 409, "conflict")
    assert run_jobs(container) == 0  # resolving by hand resets nothing at the provider
    assert provider.resets == []
    assert len(audit_entries(client, tenant.admin.headers, action="alert.resolve")) == 1


@SQLITE
def test_another_tenants_alert_is_not_found_and_the_owner_hears_of_it(
    client: TestClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    integration = ninja(client, tenant)
    alert_id = fire(client, integration, 504)
    for action in ("acknowledge", "resolve", "ticket"):
        assert_error(act(client, other_tenant.admin, alert_id, action), 404, "not_found")
    missing = act(client, tenant.operator, str(uuid.uuid4()), "acknowledge")
    assert_error(missing, 404, "not_found")
    assert get_alert(client, tenant.operator, alert_id)["status"] == "active"
    attempts = cross_tenant_entries(client, tenant.admin.headers)
    assert [e["object_id"] for e in attempts] == [alert_id] * 3


@SQLITE
def test_open_a_ticket_for_an_alert_without_one_joins_the_open_ticket_of_its_key(
    client: TestClient, tenant: TenantFixture, container: Container
) -> None:
    integration = ninja(client, tenant)
    add_rule(container, tenant.id, actions=RuleActions(create_ticket=False))
    first = fire(client, integration, 505)
    second = fire(client, integration, 506)  # same device and condition
    assert get_alert(client, tenant.operator, first)["ticket_id"] is None

    assert_error(act(client, tenant.readonly, first, "ticket"), 403)
    opened = act(client, tenant.operator, first, "ticket")
    assert opened.status_code == 200, opened.text
    ticket_id = opened.json()["ticket_id"]
    assert ticket_id is not None
    assert_error(act(client, tenant.operator, first, "ticket"), 409, field="ticket_id")
    joined = act(client, tenant.operator, second, "ticket")
    assert joined.json()["ticket_id"] == ticket_id  # one open ticket per key

    ticket = client.get(f"/api/v1/tickets/{ticket_id}", headers=tenant.operator.headers).json()
    assert ticket["occurrence_count"] == 2
    assert ticket["client_id"] == integration["client_id"]
    assert sorted(ticket["alert_ids"]) == sorted([first, second])
    opening = comments(container, tenant.id, ticket_id)[0].body
    assert opening.startswith("Opened for alert: CPU usage above 90% for 5 minutes")
    assert len(audit_entries(client, tenant.admin.headers, action="alert.open_ticket")) == 2


@SQLITE
def test_an_alert_without_a_client_gets_no_ticket_until_mapped(
    client: TestClient, tenant: TenantFixture, container: Container
) -> None:
    integration = ninja(client, tenant, mapped=False)
    add_rule(container, tenant.id)
    alert_id = fire(client, integration, 507)
    refused = act(client, tenant.operator, alert_id, "ticket")
    assert_error(refused, 409, field="client_id")
    assert "map its organisation" in refused.json()["error"]["message"]


def test_bulk_answers_each_id_and_is_bounded(
    client: TestClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    integration = ninja(client, tenant)
    own = [fire(client, integration, 510 + i) for i in range(3)]
    theirs = fire(client, ninja(client, other_tenant), 520)
    act(client, tenant.operator, own[2], "resolve")
    nowhere = str(uuid.uuid4())
    body = {"alert_ids": [*own, theirs, nowhere], "action": "acknowledge"}

    assert_error(
        client.post("/api/v1/alerts/bulk", json=body, headers=tenant.readonly.headers), 403
    )
    answer = client.post("/api/v1/alerts/bulk", json=body, headers=tenant.operator.headers)
    assert answer.status_code == 200, answer.text
    results = {i["alert_id"]: (i["result"], i["status"]) for i in answer.json()["items"]}
    assert results == {
        own[0]: ("acknowledged", "acknowledged"),
        own[1]: ("acknowledged", "acknowledged"),
        own[2]: ("conflict", "resolved"),
        theirs: ("not_found", None),
        nowhere: ("not_found", None),
    }
    again = client.post("/api/v1/alerts/bulk", json=body, headers=tenant.operator.headers)
    assert [i["result"] for i in again.json()["items"]][:2] == ["unchanged", "unchanged"]
    assert get_alert(client, other_tenant.operator, theirs)["status"] == "active"
    attempts = cross_tenant_entries(client, other_tenant.admin.headers)
    assert [e["object_id"] for e in attempts] == [theirs, theirs]

    resolve = {"alert_ids": own[:2], "action": "resolve"}
    done = client.post("/api/v1/alerts/bulk", json=resolve, headers=tenant.admin.headers)
    assert [i["result"] for i in done.json()["items"]] == ["resolved", "resolved"]


@SQLITE
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"alert_ids": [str(uuid.uuid4())] * 501, "action": "resolve"}, "alert_ids"),
        ({"alert_ids": [], "action": "resolve"}, "alert_ids"),
        ({"alert_ids": ["not-an-id"], "action": "resolve"}, "alert_ids.0"),
        ({"alert_ids": [str(uuid.uuid4())], "action": "delete"}, "action"),
        ({"alert_ids": [str(uuid.uuid4())]}, "action"),
    ],
)
def test_bad_bulk_bodies_name_the_field(
    client: TestClient, tenant: TenantFixture, body: dict[str, Any], field: str
) -> None:
    answer = client.post("/api/v1/alerts/bulk", json=body, headers=tenant.operator.headers)
    assert_error(answer, 422, field=field)


def test_triage_then_mapping_and_reprocess_opens_one_ticket_per_key(
    client: TestClient, tenant: TenantFixture, container: Container
) -> None:
    integration = ninja(client, tenant, mapped=False)
    add_rule(container, tenant.id)
    same = [fire(client, integration, 530), fire(client, integration, 531)]
    other_device = fire(client, integration, 532, device=2000)
    elsewhere = fire(client, integration, 533, org=8)  # another organisation, left alone

    triage = client.get("/api/v1/alerts/triage", headers=tenant.readonly.headers)
    assert triage.status_code == 200, triage.text
    assert {a["id"] for a in triage.json()["items"]} == {*same, other_device, elsewhere}
    by_org = client.get(
        "/api/v1/alerts/triage",
        params={"integration_id": integration["id"], "external_org_id": "7"},
        headers=tenant.readonly.headers,
    )
    assert {a["id"] for a in by_org.json()["items"]} == {*same, other_device}
    unmapped = client.get(
        "/api/v1/alerts", params={"unmapped": "true"}, headers=tenant.readonly.headers
    )
    assert {a["id"] for a in unmapped.json()["items"]} == {*same, other_device, elsewhere}
    assert client.get("/api/v1/tickets", headers=tenant.admin.headers).json()["items"] == []

    created = client.post(
        f"/api/v1/integrations/{integration['id']}/mappings",
        json={"external_org_id": "7", "client_id": integration["client_id"]},
        headers=tenant.admin.headers,
    )
    mapping = created.json()
    path = f"/api/v1/integrations/{integration['id']}/mappings/{mapping['id']}/reprocess"
    assert_error(client.post(path, headers=tenant.readonly.headers), 403)
    done = client.post(path, headers=tenant.operator.headers)
    assert done.status_code == 200, done.text
    assert done.json() == {
        "alerts": 3,
        "results": {"created": 3},
        "still_unmapped": 0,
        "more": False,
    }
    tickets = client.get("/api/v1/tickets", headers=tenant.admin.headers).json()["items"]
    assert len(tickets) == 2
    first = get_alert(client, tenant.operator, same[0])
    assert first["ticket_id"] == get_alert(client, tenant.operator, same[1])["ticket_id"]
    assert first["client_id"] == integration["client_id"]
    assert "reprocessed" in first["trace"]
    left = client.get("/api/v1/alerts/triage", headers=tenant.readonly.headers).json()
    assert [a["id"] for a in left["items"]] == [elsewhere]
    again = client.post(path, headers=tenant.operator.headers).json()
    assert again["alerts"] == 0
    assert len(client.get("/api/v1/tickets", headers=tenant.admin.headers).json()["items"]) == 2


def test_an_assets_alert_history_is_paged_newest_first(
    client: TestClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    integration = ninja(client, tenant)
    ids = [fire(client, integration, 540 + i) for i in range(3)]
    fire(client, integration, 550, device=2000)
    asset_id = get_alert(client, tenant.operator, ids[0])["asset_id"]
    path = f"/api/v1/assets/{asset_id}/alerts"
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 2}
    while True:
        page = client.get(path, params=params, headers=tenant.readonly.headers)
        assert page.status_code == 200, page.text
        seen += [a["id"] for a in page.json()["items"]]
        if page.json()["next"] is None:
            break
        params["cursor"] = page.json()["next"]
    assert seen == list(reversed(ids))
    assert_error(client.get(path, headers=other_tenant.admin.headers), 404, "not_found")


@SQLITE
def test_a_new_tickets_opening_comment_describes_the_alert(
    client: TestClient, tenant: TenantFixture, container: Container
) -> None:
    integration = ninja(client, tenant)
    add_rule(container, tenant.id)
    alert = get_alert(client, tenant.operator, fire(client, integration, 918273))
    opening = comments(container, tenant.id, alert["ticket_id"])[0]
    assert opening.author_type == "system"
    base = container.settings.public_base_url()
    assert opening.body.splitlines() == [
        "Opened for alert: CPU usage above 90% for 5 minutes",
        "Severity: major",
        f"Occurred: {alert['occurred_at'].replace('Z', '+00:00')}",
        "Device: PC-1042 (1042)",
        f"Source: ninjaone, integration {integration['name']!r}, alert 918273",
        f"Asset: {base}/assets/{alert['asset_id']}",
        "Message: CPU utilization on ACCT-WS-07 has been at or above 90% for 5 minutes.",
    ]
