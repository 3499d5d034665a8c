"""/api/v1/maintenance-windows over HTTP, and what a window does to a webhook."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from fleetward.adapters.storage import schema
from fleetward.adapters.storage.database import SqlUnitOfWork
from fleetward.bootstrap import Container
from fleetward.domain.audit import verify_chain
from tests.conftest import TenantFixture
from tests.support.api import assert_error, audit_entries, cross_tenant_entries, error_shape, unique

WINDOWS = "/api/v1/maintenance-windows"
WEEKLY = {
    "type": "weekly",
    "days": [6, 0],
    "start_time": "22:00",
    "end_time": "04:00",
    "timezone": "Europe/Berlin",
}


def new_client(client: TestClient, tenant: TenantFixture) -> str:
    made = client.post(
        "/api/v1/clients", json={"name": unique("Client")}, headers=tenant.admin.headers
    )
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def new_integration(client: TestClient, tenant: TenantFixture, client_id: str) -> tuple[str, str]:
    settings = {"default_client_id": client_id}
    body = {"provider": "generic", "name": unique("Uptime"), "settings": settings}
    made = client.post("/api/v1/integrations", json=body, headers=tenant.admin.headers)
    assert made.status_code == 201, made.text
    return made.json()["id"], made.json()["webhook_secret"]


def new_window(client: TestClient, tenant: TenantFixture, **body: Any) -> dict[str, Any]:
    made = client.post(
        WINDOWS, json={"name": unique("Window"), **body}, headers=tenant.admin.headers
    )
    assert made.status_code == 201, made.text
    result: dict[str, Any] = made.json()
    return result


def one_off(start: datetime, hours: float = 2) -> dict[str, str]:
    return {"starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=hours)).isoformat()}


def trigger(at: datetime) -> dict[str, Any]:
    """A generic trigger (docs/providers/generic.md), a new occurrence each time."""
    return {
        "kind": "triggered",
        "external_alert_id": uuid.uuid4().hex,
        "device": {"external_id": "srv-01.contoso.example", "name": "SRV-01"},
        "severity": "major",
        "title": "Service stopped",
        "condition_identity": f"service-{uuid.uuid4().hex[:6]}",
        "occurred_at": at.isoformat(),
    }


def tickets(container: Container, tenant_id: uuid.UUID) -> int:
    t = schema.ticket
    with container.db.engine.connect() as conn:
        query = select(func.count()).select_from(t).where(t.c.tenant_id == tenant_id)
        return int(conn.execute(query).scalar_one())


def test_window_crud_round_trip_is_audited(
    client: TestClient, container: Container, tenant: TenantFixture
) -> None:
    h = tenant.admin.headers
    client_id = new_client(client, tenant)
    start = datetime(2026, 7, 4, 20, 0, tzinfo=UTC)
    body = {
        "name": "Firmware upgrade",
        "client_id": client_id,
        "starts_at": "2026-07-04T22:00:00+02:00",
        "ends_at": "2026-07-05T01:30:00+02:00",
    }
    created = client.post(WINDOWS, json=body, headers=h)
    assert created.status_code == 201, created.text
    window = created.json()
    assert window["client_id"] == client_id
    assert window["integration_id"] is None and window["asset_id"] is None
    assert datetime.fromisoformat(window["starts_at"]) == start
    assert datetime.fromisoformat(window["ends_at"]) == start + timedelta(hours=3.5)
    assert window["recurrence"] is None
    path = f"{WINDOWS}/{window['id']}"
    assert client.get(path, headers=tenant.readonly.headers).json() == window
    assert client.get(WINDOWS, headers=tenant.readonly.headers).json() == {
        "items": [window],
        "next": None,
        "total": None,  # windows are not counted (only lists that sort count)
    }

    # Weekly now, and for any client: the bounds and the scope are cleared with null.
    patched = client.patch(
        path,
        json={"recurrence": WEEKLY, "starts_at": None, "ends_at": None, "client_id": None},
        headers=h,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["recurrence"] == {**WEEKLY, "days": [0, 6]}
    assert patched.json()["starts_at"] is None and patched.json()["client_id"] is None
    assert patched.json()["name"] == "Firmware upgrade"

    assert client.delete(path, headers=h).status_code == 204
    assert_error(client.get(path, headers=h), 404, "not_found")
    actions = [e["action"] for e in audit_entries(client, h, object_id=window["id"])]
    assert actions == [
        "maintenance_window.delete",
        "maintenance_window.update",
        "maintenance_window.create",
    ]
    with SqlUnitOfWork(container.db).read() as repos:  # the entries hash the same read back
        assert verify_chain(repos.audit.chain(tenant.id)) is None


def test_active_answers_for_an_instant(client: TestClient, tenant: TenantFixture) -> None:
    window = new_window(client, tenant, recurrence=WEEKLY)
    path = f"{WINDOWS}/{window['id']}/active"

    def active(at: str) -> bool:
        response = client.get(path, params={"at": at}, headers=tenant.readonly.headers)
        assert response.status_code == 200, response.text
        return bool(response.json()["active"])

    assert active("2026-07-04T23:30:00+02:00")  # Saturday night in Berlin
    assert active("2026-07-05T01:59:00Z")  # Sunday 03:59 in Berlin
    assert not active("2026-07-05T02:00:00Z")  # Sunday 04:00 in Berlin
    assert not active("2026-07-06T23:30:00+02:00")  # Monday night
    assert client.get(path, headers=tenant.readonly.headers).status_code == 200  # now
    naive = client.get(path, params={"at": "2026-07-04T23:30:00"}, headers=tenant.admin.headers)
    assert_error(naive, 422, "invalid", "at")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "starts_at"),  # neither one-off times nor a recurrence
        ({"starts_at": "2026-07-04T22:00:00Z"}, "starts_at"),
        ({"starts_at": "2026-07-04T22:00:00", "ends_at": "2026-07-05T01:00:00Z"}, "starts_at"),
        ({"starts_at": "2026-07-04T22:00:00Z", "ends_at": "2026-07-05T01:00:00"}, "ends_at"),
        ({"starts_at": "2026-07-04T22:00:00Z", "ends_at": "2026-07-04T22:00:00Z"}, "ends_at"),
        ({"starts_at": "2026-07-04T22:00:00Z", "ends_at": "2026-07-04T21:00:00Z"}, "ends_at"),
        ({"starts_at": "9999-12-31T23:00:00Z", "ends_at": "9999-12-31T23:30:00Z"}, "starts_at"),
        ({"recurrence": {**WEEKLY, "timezone": "Mars/Olympus_Mons"}}, "recurrence.timezone"),
        ({"recurrence": {**WEEKLY, "timezone": "Europe"}}, "recurrence.timezone"),
        ({"recurrence": {**WEEKLY, "timezone": "../../etc/passwd"}}, "recurrence.timezone"),
        ({"recurrence": {**WEEKLY, "timezone": "nul\x00zone"}}, "recurrence.timezone"),
        ({"recurrence": {**WEEKLY, "start_time": "25:00"}}, "recurrence.start_time"),
        ({"recurrence": {**WEEKLY, "start_time": "9:00"}}, "recurrence.start_time"),
        ({"recurrence": {**WEEKLY, "end_time": "22:00"}}, "recurrence.end_time"),
        ({"recurrence": {**WEEKLY, "days": []}}, "recurrence.days"),
        ({"recurrence": {**WEEKLY, "days": [7]}}, "recurrence.days.0"),
        ({"recurrence": {**WEEKLY, "days": [True]}}, "recurrence.days.0"),
        ({"recurrence": {**WEEKLY, "type": "daily"}}, "recurrence.type"),
        ({"recurrence": {**WEEKLY, "every": 2}}, "recurrence.every"),
        ({"recurrence": WEEKLY, "tenant_id": str(uuid.uuid4())}, "tenant_id"),
        ({"recurrence": WEEKLY, "client_id": "not-an-id"}, "client_id"),
    ],
)
def test_bad_windows_are_refused_naming_the_field(
    client: TestClient, tenant: TenantFixture, body: dict[str, Any], field: str
) -> None:
    response = client.post(WINDOWS, json={"name": "Bad", **body}, headers=tenant.admin.headers)
    assert_error(response, 422, "invalid", field)
    assert client.get(WINDOWS, headers=tenant.admin.headers).json()["items"] == []


def test_a_patch_that_would_break_the_window_is_refused(
    client: TestClient, tenant: TenantFixture
) -> None:
    window = new_window(client, tenant, **one_off(datetime(2026, 7, 4, 20, tzinfo=UTC)))
    path = f"{WINDOWS}/{window['id']}"
    h = tenant.admin.headers
    assert_error(
        client.patch(path, json={"ends_at": "2026-07-04T19:00:00Z"}, headers=h),
        422,
        "invalid",
        "ends_at",
    )
    assert_error(client.patch(path, json={"ends_at": None}, headers=h), 422, "invalid", "starts_at")
    assert_error(client.patch(path, json={"name": None}, headers=h), 422, "invalid", "name")
    assert client.get(path, headers=h).json() == window


def test_scope_ids_must_be_the_tenants_own(
    client: TestClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    their_client = new_client(client, other_tenant)
    their_integration, _ = new_integration(client, other_tenant, their_client)
    h = tenant.admin.headers
    for field, theirs in (("client_id", their_client), ("integration_id", their_integration)):
        foreign = client.post(
            WINDOWS, json={"name": "x", "recurrence": WEEKLY, field: theirs}, headers=h
        )
        assert_error(foreign, 422, "invalid", field)
        unknown = client.post(
            WINDOWS, json={"name": "x", "recurrence": WEEKLY, field: str(uuid.uuid4())}, headers=h
        )
        assert error_shape(foreign) == error_shape(unknown)
    asset = client.post(
        WINDOWS, json={"name": "x", "recurrence": WEEKLY, "asset_id": str(uuid.uuid4())}, headers=h
    )
    assert_error(asset, 422, "invalid", "asset_id")
    mine = new_window(client, tenant, recurrence=WEEKLY)
    patch = client.patch(f"{WINDOWS}/{mine['id']}", json={"client_id": their_client}, headers=h)
    assert_error(patch, 422, "invalid", "client_id")
    assert client.get(WINDOWS, headers=h).json()["items"] == [mine]


def test_windows_are_settings_only_admins_change_them(
    client: TestClient, tenant: TenantFixture
) -> None:
    window = new_window(client, tenant, recurrence=WEEKLY)
    path = f"{WINDOWS}/{window['id']}"
    for actor in (tenant.operator, tenant.readonly):
        h = actor.headers
        assert client.get(WINDOWS, headers=h).json()["items"] == [window]
        assert client.get(path, headers=h).json() == window
        refused = client.post(WINDOWS, json={"name": "Mine", "recurrence": WEEKLY}, headers=h)
        assert_error(refused, 403, "forbidden")
        assert_error(client.patch(path, json={"name": "Mine"}, headers=h), 403, "forbidden")
        assert_error(client.delete(path, headers=h), 403, "forbidden")
    assert client.get(path, headers=tenant.admin.headers).json() == window


def test_another_tenants_window_is_missing_and_the_attempt_audited(
    client: TestClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    window = new_window(client, tenant, recurrence=WEEKLY)
    intruder = other_tenant.admin.headers
    for suffix, method, body in (
        ("", "GET", None),
        ("/active", "GET", None),
        ("", "PATCH", {"name": "Mine"}),
        ("", "DELETE", None),
    ):
        response = client.request(
            method, f"{WINDOWS}/{window['id']}{suffix}", json=body, headers=intruder
        )
        assert_error(response, 404, "not_found")
        random = client.request(
            method, f"{WINDOWS}/{uuid.uuid4()}{suffix}", json=body, headers=intruder
        )
        assert error_shape(response) == error_shape(random)
    assert client.get(WINDOWS, headers=intruder).json()["items"] == []
    assert client.get(f"{WINDOWS}/{window['id']}", headers=tenant.admin.headers).json() == window
    assert cross_tenant_entries(client, intruder) == []
    logged = cross_tenant_entries(client, tenant.admin.headers)
    assert {(e["object_type"], e["object_id"]) for e in logged} == {
        ("maintenance_window", window["id"])
    }


def test_a_window_suppresses_alerts_inside_it_and_only_there(
    client: TestClient, container: Container, tenant: TenantFixture
) -> None:
    client_id = new_client(client, tenant)
    integration_id, secret = new_integration(client, tenant, client_id)
    rule = client.post(
        "/api/v1/alert-rules", json={"name": "Everything"}, headers=tenant.admin.headers
    )
    assert rule.status_code == 201, rule.text
    now = datetime.now(UTC)
    new_window(client, tenant, client_id=client_id, **one_off(now - timedelta(hours=1)))
    hook = f"/api/v1/webhooks/{integration_id}"
    token = {"X-Fleetward-Token": secret}

    inside = client.post(hook, json=trigger(now), headers=token)
    assert inside.status_code == 200, inside.text
    assert inside.json()["result"] == "suppressed"
    assert tickets(container, tenant.id) == 0

    outside = client.post(hook, json=trigger(now + timedelta(hours=2)), headers=token)
    assert outside.status_code == 200, outside.text
    assert outside.json()["result"] == "created"
    assert tickets(container, tenant.id) == 1


# The decision is tested on plain values (tests/unit/test_pipeline_on_fakes.py); SQLite
# is enough here for the HTTP path.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_window_for_another_client_does_not_suppress(
    client: TestClient, container: Container, tenant: TenantFixture
) -> None:
    client_id = new_client(client, tenant)
    integration_id, secret = new_integration(client, tenant, client_id)
    client.post("/api/v1/alert-rules", json={"name": "Everything"}, headers=tenant.admin.headers)
    everyday = {**WEEKLY, "days": list(range(7)), "start_time": "00:00", "end_time": "23:59"}
    new_window(client, tenant, client_id=new_client(client, tenant), recurrence=everyday)
    answer = client.post(
        f"/api/v1/webhooks/{integration_id}",
        json=trigger(datetime(2026, 7, 4, 12, tzinfo=UTC)),
        headers={"X-Fleetward-Token": secret},
    )
    assert answer.json()["result"] == "created"
    assert tickets(container, tenant.id) == 1


# The decision is tested on plain values (tests/unit/test_pipeline_on_fakes.py); SQLite
# is enough here for the HTTP path.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_rule_test_endpoint_shows_the_window_that_suppresses(
    client: TestClient, tenant: TenantFixture
) -> None:
    client_id = new_client(client, tenant)
    integration_id, _ = new_integration(client, tenant, client_id)
    window = new_window(client, tenant, integration_id=integration_id, recurrence=WEEKLY)
    saturday_night = datetime(2026, 7, 4, 23, 30, tzinfo=UTC)
    answer = client.post(
        "/api/v1/alert-rules/test",
        json={"integration_id": integration_id, "payload": trigger(saturday_night)},
        headers=tenant.admin.headers,
    )
    assert answer.status_code == 200, answer.text
    (result,) = answer.json()["results"]
    assert result["result"] == "suppressed"
    assert result["trace"]["windows"] == [
        {
            "window_id": window["id"],
            "window": window["name"],
            "result": "covers the alert time: suppressed",
        }
    ]
