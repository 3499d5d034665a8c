"""Enrolment tokens, enrolling, and agents: on both engines, through the REST API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from fleetward.bootstrap import Container
from tests.conftest import TenantFixture
from tests.support.agents import enroll, enrolled_agent, event, make_site, make_token
from tests.support.api import assert_error, audit_entries, cross_tenant_entries


def test_token_create_list_get_and_revoke(client: TestClient, tenant: TenantFixture) -> None:
    site_id = make_site(client, tenant)
    made = make_token(client, tenant, site_id, expires_in_hours=2)
    assert made["token"].startswith("fwe_")
    assert made["prefix"] == made["token"][:12]
    assert made["revoked_at"] is None
    expires = datetime.fromisoformat(made["expires_at"])
    assert timedelta(hours=1.9) < expires - datetime.now(UTC) <= timedelta(hours=2)

    listed = client.get("/api/v1/enrollment-tokens", headers=tenant.readonly.headers).json()
    assert [t["id"] for t in listed["items"]] == [made["id"]]
    assert listed["next"] is None
    assert "token" not in listed["items"][0], "the secret is shown once"

    revoked = client.post(
        f"/api/v1/enrollment-tokens/{made['id']}/revoke", headers=tenant.admin.headers
    )
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_at"] is not None
    got = client.get(f"/api/v1/enrollment-tokens/{made['id']}", headers=tenant.admin.headers)
    assert got.json()["revoked_at"] == revoked.json()["revoked_at"]

    actions = [e["action"] for e in audit_entries(client, tenant.admin.headers)]
    assert "enrollment_token.create" in actions and "enrollment_token.revoke" in actions
    # The secret never reaches the audit log.
    assert all(made["token"] not in str(e) for e in audit_entries(client, tenant.admin.headers))


def test_token_expiry_forms_and_bad_input(client: TestClient, tenant: TenantFixture) -> None:
    site_id = make_site(client, tenant)
    h = tenant.admin.headers
    at = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    made = make_token(client, tenant, site_id, expires_at=at)
    assert datetime.fromisoformat(made["expires_at"]) == datetime.fromisoformat(at)
    url = "/api/v1/enrollment-tokens"
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    assert_error(
        client.post(url, json={"site_id": site_id, "expires_at": past}, headers=h),
        422,
        field="expires_at",
    )
    assert_error(
        client.post(url, json={"site_id": site_id, "expires_at": "2030-01-01T00:00:00"}, headers=h),
        422,
        field="expires_at",
        field_in_message=True,
    )
    both = {"site_id": site_id, "expires_at": at, "expires_in_hours": 5}
    assert_error(client.post(url, json=both, headers=h), 422, field="expires_in_hours")
    assert_error(
        client.post(url, json={"site_id": site_id, "expires_in_hours": 0}, headers=h),
        422,
        field="expires_in_hours",
    )
    unknown_site = {"site_id": "00000000-0000-4000-8000-000000000000"}
    assert_error(client.post(url, json=unknown_site, headers=h), 422, field="site_id")


def test_enrol_answers_an_id_and_a_key_shown_once(
    client: TestClient, tenant: TenantFixture
) -> None:
    site_id = make_site(client, tenant)
    token = make_token(client, tenant, site_id)["token"]
    first, second = enroll(client, token, "WS-01"), enroll(client, token, "WS-02")
    assert first.status_code == 201, first.text
    assert set(first.json()) == {"agent_id", "agent_key"}
    assert first.json()["agent_key"].startswith("fwa_")
    assert second.status_code == 201, "a site token enrols many machines"

    listed = client.get("/api/v1/agents", headers=tenant.readonly.headers).json()["items"]
    assert sorted(a["hostname"] for a in listed) == ["WS-01", "WS-02"]
    one = next(a for a in listed if a["hostname"] == "WS-01")
    assert one["id"] == first.json()["agent_id"] and one["site_id"] == site_id
    assert one["os"] == "Windows 11" and one["agent_version"] == "0.1.0"
    assert one["online"] is True and one["last_seen_at"] is not None
    assert "agent_key" not in one and "key_hash" not in one
    entries = audit_entries(client, tenant.admin.headers, action="agent.enroll")
    assert len(entries) == 2 and entries[0]["actor_type"] == "enrollment_token"


def test_unknown_expired_and_revoked_tokens_get_401(
    client: TestClient, container: Container, tenant: TenantFixture
) -> None:
    site_id = make_site(client, tenant)
    assert_error(enroll(client, "fwe_nonsense"), 401, "unauthenticated")

    revoked = make_token(client, tenant, site_id)
    client.post(f"/api/v1/enrollment-tokens/{revoked['id']}/revoke", headers=tenant.admin.headers)
    assert_error(enroll(client, revoked["token"]), 401, "unauthenticated")

    expiring = make_token(client, tenant, site_id, expires_in_hours=1)
    real_clock = container.agents.clock
    container.agents.clock = lambda: real_clock() + timedelta(hours=2)
    try:
        assert_error(enroll(client, expiring["token"]), 401, "unauthenticated")
    finally:
        container.agents.clock = real_clock
    assert enroll(client, expiring["token"]).status_code == 201


def test_enrol_refuses_bad_bodies_naming_the_field(client: TestClient) -> None:
    good = {"token": "fwe_x", "hostname": "WS", "os": "Linux", "agent_version": "1"}
    for field, value in (("hostname", ""), ("os", "a\x00b"), ("agent_version", "v" * 51)):
        answer = client.post("/api/v1/agent/enroll", json={**good, field: value})
        assert_error(answer, 422, field=field)


def test_online_state_follows_last_seen(
    client: TestClient, container: Container, tenant: TenantFixture
) -> None:
    agent = enrolled_agent(client, tenant)
    url = f"/api/v1/agents/{agent.id}"
    assert client.get(url, headers=tenant.readonly.headers).json()["online"] is True
    real_clock = container.agents.clock
    container.agents.clock = lambda: real_clock() + timedelta(minutes=10)
    try:
        assert client.get(url, headers=tenant.readonly.headers).json()["online"] is False
        # Sending events counts as being seen.
        sent = client.post(
            "/api/v1/agent/events", json={"events": [event(0)]}, headers=agent.headers
        )
        assert sent.status_code == 200, sent.text
        assert client.get(url, headers=tenant.readonly.headers).json()["online"] is True
    finally:
        container.agents.clock = real_clock


def test_a_revoked_agents_key_stops_working(client: TestClient, tenant: TenantFixture) -> None:
    agent = enrolled_agent(client, tenant)
    body = {"events": [event(0)]}
    assert client.post("/api/v1/agent/events", json=body, headers=agent.headers).status_code == 200
    revoked = client.post(f"/api/v1/agents/{agent.id}/revoke", headers=tenant.admin.headers)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_at"] is not None and revoked.json()["online"] is False
    answer = client.post("/api/v1/agent/events", json=body, headers=agent.headers)
    assert_error(answer, 401, "unauthenticated")
    assert answer.headers["www-authenticate"] == "Bearer"
    assert_error(client.post("/api/v1/agent/events", json=body), 401, "unauthenticated")
    assert audit_entries(client, tenant.admin.headers, action="agent.revoke")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_roles_read_everyone_write_admin(client: TestClient, tenant: TenantFixture) -> None:
    agent = enrolled_agent(client, tenant)
    site_id = agent.site_id
    token = make_token(client, tenant, site_id)
    for actor in (tenant.operator, tenant.readonly):
        h = actor.headers
        assert client.get("/api/v1/agents", headers=h).status_code == 200
        assert client.get("/api/v1/enrollment-tokens", headers=h).status_code == 200
        assert_error(
            client.post("/api/v1/enrollment-tokens", json={"site_id": site_id}, headers=h), 403
        )
        assert_error(client.post(f"/api/v1/enrollment-tokens/{token['id']}/revoke", headers=h), 403)
        assert_error(client.post(f"/api/v1/agents/{agent.id}/revoke", headers=h), 403)
    assert_error(client.get("/api/v1/agents"), 401)


def test_another_tenants_agent_and_token_are_missing_and_audited(
    client: TestClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    agent = enrolled_agent(client, tenant)
    token = make_token(client, tenant, agent.site_id)
    intruder = other_tenant.admin.headers
    for method, path in (
        ("GET", f"/api/v1/agents/{agent.id}"),
        ("POST", f"/api/v1/agents/{agent.id}/revoke"),
        ("GET", f"/api/v1/enrollment-tokens/{token['id']}"),
        ("POST", f"/api/v1/enrollment-tokens/{token['id']}/revoke"),
    ):
        assert_error(client.request(method, path, headers=intruder), 404, "not_found")
    # A token for another tenant's site cannot be minted either.
    minted = client.post(
        "/api/v1/enrollment-tokens", json={"site_id": agent.site_id}, headers=intruder
    )
    assert_error(minted, 422, field="site_id")
    assert cross_tenant_entries(client, intruder) == []
    attempts = cross_tenant_entries(client, tenant.admin.headers)
    assert {e["object_id"] for e in attempts} == {agent.id, token["id"]}
    assert len(attempts) == 4
    # Nothing changed, and the intruder sees none of it in lists.
    assert (
        client.get(f"/api/v1/agents/{agent.id}", headers=tenant.admin.headers).json()["revoked_at"]
        is None
    )
    assert client.get("/api/v1/agents", headers=intruder).json()["items"] == []
    assert client.get("/api/v1/enrollment-tokens", headers=intruder).json()["items"] == []
