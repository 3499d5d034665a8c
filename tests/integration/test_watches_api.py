"""/api/v1/event-log-watches over HTTP, and the agents' config versions they raise."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fleetward.adapters.storage.database import SqlUnitOfWork
from fleetward.bootstrap import Container
from fleetward.domain.audit import verify_chain
from tests.conftest import TenantFixture
from tests.support.agents import enroll, enrolled_agent, make_site, make_token
from tests.support.api import assert_error, audit_entries, cross_tenant_entries, error_shape, unique

WATCHES = "/api/v1/event-log-watches"


def new_watch(client: TestClient, tenant: TenantFixture, **body: Any) -> dict[str, Any]:
    made = client.post(
        WATCHES,
        json={"name": unique("Watch"), "scope": {"type": "tenant"}, "log_name": "System", **body},
        headers=tenant.admin.headers,
    )
    assert made.status_code == 201, made.text
    result: dict[str, Any] = made.json()
    return result


def config_version(container: Container, tenant: TenantFixture, agent_id: str) -> int:
    with SqlUnitOfWork(container.db).read() as repos:
        agent = repos.agents.get(tenant.id, uuid.UUID(agent_id))
    assert agent is not None
    return int(agent.config_version)


def site_of(client: TestClient, tenant: TenantFixture, site_id: str) -> dict[str, Any]:
    """The site's record, found through its client (sites live under clients)."""
    h = tenant.admin.headers
    for c in client.get("/api/v1/clients?limit=500", headers=h).json()["items"]:
        sites = client.get(f"/api/v1/clients/{c['id']}/sites?limit=500", headers=h).json()
        for site in sites["items"]:
            if site["id"] == site_id:
                found: dict[str, Any] = site
                return found
    raise AssertionError(f"site {site_id} not found")


def test_watch_crud_round_trip_is_audited(
    client: TestClient, container: Container, tenant: TenantFixture
) -> None:
    h = tenant.admin.headers
    site_id = make_site(client, tenant)
    body = {
        "name": "  Failed   logons ",
        "scope": {"type": "site", "id": site_id},
        "log_name": "Security",
        "event_ids": [4625, 4771, 4625],
        "providers": ["Microsoft-Windows-Security-Auditing"],
        "min_level": "information",
        "keywords": ["Administrator"],
        "alert_severity": "major",
        "enabled": True,
    }
    created = client.post(WATCHES, json=body, headers=h)
    assert created.status_code == 201, created.text
    watch = created.json()
    assert watch["name"] == "Failed logons"
    assert watch["scope"] == {"type": "site", "id": site_id}
    assert watch["event_ids"] == [4625, 4771]
    assert watch["providers"] == ["Microsoft-Windows-Security-Auditing"]
    assert (watch["min_level"], watch["alert_severity"]) == ("information", "major")
    assert watch["keywords"] == ["Administrator"] and watch["enabled"] is True
    path = f"{WATCHES}/{watch['id']}"
    assert client.get(path, headers=tenant.readonly.headers).json() == watch
    assert client.get(WATCHES, headers=tenant.operator.headers).json() == {
        "items": [watch],
        "next": None,
        "total": None,  # watch rules are not counted here
    }

    # Tenant-wide now, and off; what is not given stays.
    patched = client.patch(
        path, json={"scope": {"type": "tenant"}, "enabled": False, "event_ids": []}, headers=h
    )
    assert patched.status_code == 200, patched.text
    after = patched.json()
    assert after["scope"] == {"type": "tenant", "id": None}
    assert after["enabled"] is False and after["event_ids"] == []
    assert after["keywords"] == ["Administrator"] and after["log_name"] == "Security"
    assert client.get(path, headers=h).json() == after
    # The same values again change nothing and are not audited.
    assert client.patch(path, json={"enabled": False}, headers=h).json() == after

    assert client.delete(path, headers=h).status_code == 204
    assert_error(client.get(path, headers=h), 404, "not_found")
    actions = [e["action"] for e in audit_entries(client, h, object_id=watch["id"])]
    assert actions == ["eventlog_watch.delete", "eventlog_watch.update", "eventlog_watch.create"]
    with SqlUnitOfWork(container.db).read() as repos:
        assert verify_chain(repos.audit.chain(tenant.id)) is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"log_name": "  "}, "log_name"),
        ({"event_ids": [4624, 70000]}, "event_ids"),
        ({"event_ids": [-1]}, "event_ids"),
        ({"event_ids": ["4624"]}, "event_ids.0"),
        ({"keywords": ["ok", " "]}, "keywords"),
        ({"min_level": "loud"}, "min_level"),
        ({"alert_severity": "urgent"}, "alert_severity"),
        ({"scope": {"type": "site"}}, "scope.id"),
        ({"scope": {"type": "tenant", "id": str(uuid.uuid4())}}, "scope.id"),
        ({"scope": {"type": "planet"}}, "scope.type"),
        ({"scope": {"type": "client", "id": str(uuid.uuid4())}}, "scope.id"),
        ({"name": "   "}, "name"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_invalid_bodies_are_422_naming_the_field(
    client: TestClient, tenant: TenantFixture, change: dict[str, Any], field: str
) -> None:
    h = tenant.admin.headers
    body = {"name": "Disk errors", "scope": {"type": "tenant"}, "log_name": "System", **change}
    assert_error(client.post(WATCHES, json=body, headers=h), 422, "invalid", field=field)
    watch = new_watch(client, tenant)
    patched = client.patch(f"{WATCHES}/{watch['id']}", json=change, headers=h)
    assert_error(patched, 422, "invalid", field=field)
    assert client.get(WATCHES, headers=h).json()["items"] == [watch]


def test_null_in_a_patch_is_refused(client: TestClient, tenant: TenantFixture) -> None:
    watch = new_watch(client, tenant)
    for field in ("name", "scope", "event_ids", "enabled"):
        patched = client.patch(
            f"{WATCHES}/{watch['id']}", json={field: None}, headers=tenant.admin.headers
        )
        assert_error(patched, 422, "invalid", field=field)


def test_scope_of_another_tenant_reads_as_a_random_id(
    client: TestClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    theirs = enrolled_agent(client, other_tenant, "THEIRS-01")
    their_client = site_of(client, other_tenant, theirs.site_id)["client_id"]
    for kind, object_id in (
        ("agent", theirs.id),
        ("site", theirs.site_id),
        ("client", their_client),
    ):
        body = {"name": "W", "log_name": "System", "scope": {"type": kind, "id": object_id}}
        answer = client.post(WATCHES, json=body, headers=tenant.admin.headers)
        assert_error(answer, 422, "invalid", field="scope.id")
        random = {**body, "scope": {"type": kind, "id": str(uuid.uuid4())}}
        assert error_shape(answer) == error_shape(
            client.post(WATCHES, json=random, headers=tenant.admin.headers)
        )
    assert client.get(WATCHES, headers=tenant.admin.headers).json()["items"] == []


def test_only_admins_change_watches_and_every_role_reads(
    client: TestClient, tenant: TenantFixture
) -> None:
    watch = new_watch(client, tenant)
    path = f"{WATCHES}/{watch['id']}"
    body = {"name": "W", "scope": {"type": "tenant"}, "log_name": "System"}
    for actor in (tenant.operator, tenant.readonly):
        assert_error(client.post(WATCHES, json=body, headers=actor.headers), 403, "forbidden")
        assert_error(client.patch(path, json={"name": "x"}, headers=actor.headers), 403)
        assert_error(client.delete(path, headers=actor.headers), 403, "forbidden")
        assert client.get(path, headers=actor.headers).json() == watch
    assert_error(client.get(WATCHES), 401, "unauthenticated")


def test_another_tenants_watch_is_missing_and_the_attempt_audited(
    client: TestClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    watch = new_watch(client, tenant)
    path = f"{WATCHES}/{watch['id']}"
    intruder = other_tenant.admin.headers
    random_path = f"{WATCHES}/{uuid.uuid4()}"
    for method, body in (("GET", None), ("PATCH", {"name": "Mine"}), ("DELETE", None)):
        answer = client.request(method, path, json=body, headers=intruder)
        assert_error(answer, 404, "not_found")
        missing = client.request(method, random_path, json=body, headers=intruder)
        assert error_shape(answer) == error_shape(missing)
    assert cross_tenant_entries(client, intruder) == []
    logged = cross_tenant_entries(client, tenant.admin.headers)
    assert [e["object_id"] for e in logged] == [watch["id"]] * 3
    assert client.get(path, headers=tenant.admin.headers).json() == watch
    assert client.get(WATCHES, headers=intruder).json()["items"] == []


def test_changes_raise_the_config_version_of_the_agents_a_rule_applies_to(
    client: TestClient, container: Container, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    h = tenant.admin.headers
    # Two sites of one client, an agent at each; a third agent at another client's site.
    site_a = make_site(client, tenant)
    client_id = site_of(client, tenant, site_a)["client_id"]
    made = client.post(f"/api/v1/clients/{client_id}/sites", json={"name": "Annex"}, headers=h)
    assert made.status_code == 201, made.text
    site_b = made.json()["id"]
    agents = {}
    for label, site in (("a", site_a), ("b", site_b)):
        answer = enroll(client, make_token(client, tenant, site)["token"], f"WS-{label}")
        assert answer.status_code == 201, answer.text
        agents[label] = answer.json()["agent_id"]
    agents["elsewhere"] = enrolled_agent(client, tenant, "WS-ELSEWHERE").id
    theirs = enrolled_agent(client, other_tenant, "THEIRS-01")

    def versions() -> dict[str, int]:
        found = {k: config_version(container, tenant, v) for k, v in agents.items()}
        found["theirs"] = config_version(container, other_tenant, theirs.id)
        return found

    def bumped(before: dict[str, int]) -> set[str]:
        now = versions()
        assert all(now[k] - before[k] in (0, 1) for k in now), (before, now)
        return {k for k in now if now[k] != before[k]}

    v = versions()
    watch = new_watch(client, tenant, scope={"type": "agent", "id": agents["a"]})
    assert bumped(v) == {"a"}
    path = f"{WATCHES}/{watch['id']}"

    v = versions()
    assert client.patch(path, json={"scope": {"type": "site", "id": site_b}}, headers=h).is_success
    assert bumped(v) == {"a", "b"}  # a stops watching, b starts

    v = versions()
    assert client.patch(path, json={"keywords": ["disk"]}, headers=h).is_success
    assert bumped(v) == {"b"}

    v = versions()
    assert client.patch(path, json={"keywords": ["disk"]}, headers=h).is_success
    assert bumped(v) == set()  # nothing changed

    v = versions()
    assert client.patch(
        path, json={"scope": {"type": "client", "id": client_id}}, headers=h
    ).is_success
    assert bumped(v) == {"a", "b"}

    v = versions()
    refused = client.patch(path, json={"enabled": False}, headers=tenant.operator.headers)
    assert_error(refused, 403, "forbidden")
    assert bumped(v) == set()

    v = versions()
    assert client.delete(path, headers=h).status_code == 204
    assert bumped(v) == {"a", "b"}

    v = versions()
    tenant_wide = new_watch(client, tenant, scope={"type": "tenant"})
    assert bumped(v) == {"a", "b", "elsewhere"}  # never another tenant's agents

    v = versions()
    assert client.delete(f"{WATCHES}/{tenant_wide['id']}", headers=h).status_code == 204
    assert bumped(v) == {"a", "b", "elsewhere"}


def test_rules_for_an_agent_are_those_whose_scope_reaches_it(
    client: TestClient, container: Container, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    site = make_site(client, tenant)
    client_id = site_of(client, tenant, site)["client_id"]
    mine = enroll(client, make_token(client, tenant, site)["token"], "WS-MINE").json()["agent_id"]
    neighbour = enroll(client, make_token(client, tenant, site)["token"], "WS-NEXT").json()
    elsewhere = enrolled_agent(client, tenant, "WS-ELSEWHERE")
    made = {
        "tenant": new_watch(client, tenant, scope={"type": "tenant"}),
        "client": new_watch(client, tenant, scope={"type": "client", "id": client_id}),
        "site": new_watch(client, tenant, scope={"type": "site", "id": site}),
        "agent": new_watch(client, tenant, scope={"type": "agent", "id": mine}, enabled=False),
        "neighbour": new_watch(
            client, tenant, scope={"type": "agent", "id": neighbour["agent_id"]}
        ),
        "other site": new_watch(client, tenant, scope={"type": "site", "id": elsewhere.site_id}),
    }
    new_watch(client, other_tenant, scope={"type": "tenant"})

    def rules_of(tenant_id: uuid.UUID, agent_id: str) -> list[str]:
        with SqlUnitOfWork(container.db).read() as repos:
            agent = repos.agents.get(tenant_id, uuid.UUID(agent_id))
            return [str(w.id) for w in repos.watches.for_agent(agent)]

    ids = {label: w["id"] for label, w in made.items()}
    assert rules_of(tenant.id, mine) == [ids[k] for k in ("tenant", "client", "site", "agent")]
    assert rules_of(tenant.id, elsewhere.id) == [ids["tenant"], ids["other site"]]
