"""Tenant isolation and roles as a matrix: every resource route by every kind of caller.

One row of ROUTES per route says what it needs (read, write or admin), how to
make the object it acts on, and a valid body; tests/support/matrix.py says what
each kind of caller must get. This file holds the rows of clients, sites,
users, API keys and the audit log; test_isolation_matrix_pipeline.py those of
the alert pipeline; test_isolation_matrix_agents.py those of enrolment tokens,
agents and the timeline. A new resource is one more row per route
(test_every_api_route_is_in_the_matrix insists).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fleetward.bootstrap import Container
from fleetward.domain.audit import SYSTEM_CLI
from fleetward.domain.identity import Access
from tests.conftest import PASSWORD, Actor, TenantFixture
from tests.integration.test_isolation_matrix_agents import ROUTES as AGENT_ROUTES
from tests.integration.test_isolation_matrix_notifications import ROUTES as NOTIFICATION_ROUTES
from tests.integration.test_isolation_matrix_pipeline import ROUTES as PIPELINE_ROUTES
from tests.support.api import assert_error, cross_tenant_entries, unique
from tests.support.matrix import (
    Route,
    Target,
    World,
    check_resource,
    collection_ids,
    resources,
)

# Who may call what is decided above the SQL, by the same tenant filter on both
# engines: the matrix runs on SQLite (the storage contract runs on both engines
# in the repository and API tests).
pytestmark = pytest.mark.sqlite_only


def client_target(world: World, actor: Actor) -> Target:
    created = world.call(
        "POST", "/api/v1/clients", world.owner.admin.headers, {"name": unique("Target client")}
    )
    assert created.status_code == 201, created.text
    client_id = created.json()["id"]
    return Target(
        {"client_id": client_id},
        client_id,
        client_id,
        lambda: (
            world.owner_get(f"/api/v1/clients/{client_id}"),
            collection_ids(world, "/api/v1/clients"),
        ),
    )


def site_target(world: World, actor: Actor) -> Target:
    client_id = client_target(world, actor).id
    sites = f"/api/v1/clients/{client_id}/sites"
    created = world.call("POST", sites, world.owner.admin.headers, {"name": unique("Site")})
    assert created.status_code == 201, created.text
    site_id = created.json()["id"]
    return Target(
        {"client_id": client_id, "site_id": site_id},
        site_id,
        client_id,
        lambda: (world.owner_get(f"{sites}/{site_id}"), collection_ids(world, sites)),
    )


def user_target(world: World, actor: Actor) -> Target:
    created = world.call("POST", "/api/v1/users", world.owner.admin.headers, new_user())
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    return Target(
        {"user_id": user_id},
        user_id,
        user_id,
        lambda: (
            world.owner_get(f"/api/v1/users/{user_id}"),
            collection_ids(world, "/api/v1/users"),
        ),
    )


def key_target(world: World, actor: Actor) -> Target:
    """A key of the acting user: people other than admins manage only their own keys."""
    user = world.container.identity.user_by_email(actor.email)
    key, _ = world.container.identity.create_api_key(SYSTEM_CLI, user, unique("Target key"))
    key_id = str(key.id)

    def snapshot() -> Any:
        # Admins list every key of the tenant; last_used_at is not touched by this key.
        ids = collection_ids(world, "/api/v1/api-keys")
        return key_id in ids, ids

    return Target({"key_id": key_id}, key_id, key_id, snapshot)


def me_target(world: World, actor: Actor) -> Target:
    """The caller's own profile: /api/v1/me names no object, it is always the caller's."""
    user_id = str(actor.user_id)
    return Target({}, user_id, user_id, lambda: world.owner_get(f"/api/v1/users/{user_id}"))


def new_client() -> dict[str, Any]:
    return {"name": unique("New client")}


def new_site() -> dict[str, Any]:
    return {"name": unique("New site")}


def new_user() -> dict[str, Any]:
    return {
        "email": f"new-{uuid.uuid4().hex[:8]}@example.test",
        "role": "operator",
        "password": PASSWORD,
    }


def new_key() -> dict[str, Any]:
    return {"name": unique("New key")}


CLIENT = "/api/v1/clients/{client_id}"
SITES = CLIENT + "/sites"
SITE = SITES + "/{site_id}"

ROUTES = [
    Route("GET", "/api/v1/clients", Access.READ, client_target),
    Route("POST", "/api/v1/clients", Access.WRITE, client_target, new_client),
    Route("GET", CLIENT, Access.READ, client_target),
    Route("PATCH", CLIENT, Access.WRITE, client_target, lambda: {"notes": "changed"}),
    Route("DELETE", CLIENT, Access.WRITE, client_target),
    Route("GET", SITES, Access.READ, site_target),
    Route("POST", SITES, Access.WRITE, site_target, new_site),
    Route("GET", SITE, Access.READ, site_target),
    Route("PATCH", SITE, Access.WRITE, site_target, lambda: {"address": "1 Changed Road"}),
    Route("DELETE", SITE, Access.WRITE, site_target),
    Route("GET", "/api/v1/users", Access.ADMIN, user_target),
    Route("POST", "/api/v1/users", Access.ADMIN, user_target, new_user),
    Route("GET", "/api/v1/users/{user_id}", Access.ADMIN, user_target),
    Route("PATCH", "/api/v1/users/{user_id}", Access.ADMIN, user_target, lambda: {"role": "admin"}),
    Route("DELETE", "/api/v1/users/{user_id}", Access.ADMIN, user_target),
    Route("GET", "/api/v1/api-keys", Access.READ, key_target),
    Route("POST", "/api/v1/api-keys", Access.WRITE, key_target, new_key),
    Route("DELETE", "/api/v1/api-keys/{key_id}", Access.WRITE, key_target),
    # The audit entry of the owner's new client must not show to another tenant.
    Route("GET", "/api/v1/audit-log", Access.ADMIN, client_target),
    # Search finds the owner's client by name; another tenant's search must not.
    Route(
        "GET",
        "/api/v1/search",
        Access.READ,
        client_target,
        fixed_query="q=target+client&kind=clients&limit=100",
    ),
    Route("GET", "/api/v1/me", Access.READ, me_target),
    Route("PATCH", "/api/v1/me", Access.READ, me_target, lambda: {"time_zone": "Asia/Tokyo"}),
]


@pytest.fixture
def world(
    client: TestClient, container: Container, tenant: TenantFixture, other_tenant: TenantFixture
) -> World:
    return World(client, container, tenant, other_tenant)


@pytest.mark.parametrize("resource", resources(ROUTES))
def test_each_route_answers_each_caller_as_its_access_says(
    world: World, resource: str, subtests: pytest.Subtests
) -> None:
    check_resource(world, ROUTES, resource, subtests)


# Resources that landed, with access tests of their own, before they had rows here.
# Each is a debt: give its routes rows in ROUTES, then delete its prefix from this list.
NOT_YET_IN_MATRIX: tuple[str, ...] = ()

# API operations that take no API key, so no role or tenant of the caller to check.
OUTSIDE_THE_MATRIX = {
    # Alert senders authenticate with the integration's own secret (token, Bearer or
    # HMAC signature); the URL names the integration, the secret proves the caller.
    # tests/integration/test_webhook_intake.py covers wrong and missing secrets, an
    # unknown integration (the same 401) and a disabled one (403).
    ("POST", "/api/v1/webhooks/{integration_id}"),
    # Agents: enrolling takes a site's enrolment token in the body, sending events the
    # agent's own key (the AgentKey scheme); tests/integration/test_agents_api.py and
    # test_timeline_api.py cover unknown, expired and revoked tokens and keys.
    ("POST", "/api/v1/agent/enroll"),
    ("POST", "/api/v1/agent/events"),
    # Watch-rule matches take the agent's key too; test_agent_matches.py covers bad,
    # missing and revoked keys, a person's key (401), and another tenant's rule ids
    # (ignored, nothing created in either tenant).
    ("POST", "/api/v1/agent/matches"),
}


def _prefix(path: str) -> str:
    return "/".join(path.split("/")[:4])


def test_every_api_route_is_in_the_matrix(client: TestClient) -> None:
    """Every operation that takes an API key has its row: a new resource cannot skip the matrix."""
    paths = client.get("/openapi.json").json()["paths"]
    operations = {
        (method.upper(), path): operation
        for path, by_method in paths.items()
        if path.startswith("/api/")
        for method, operation in by_method.items()
    }
    served = {key for key, op in operations.items() if {"HTTPBearer": []} in op.get("security", [])}
    rows = [
        (r.method, r.path) for r in (*ROUTES, *PIPELINE_ROUTES, *AGENT_ROUTES, *NOTIFICATION_ROUTES)
    ]
    assert len(rows) == len(set(rows)), "a route has two rows"
    assert {(m, p) for m, p in served if _prefix(p) not in NOT_YET_IN_MATRIX} == set(rows)
    # Anything else under /api/ is out of the matrix on purpose, and says why above.
    assert set(operations) - served == OUTSIDE_THE_MATRIX
    # The list of debts does not outlive them.
    assert set(NOT_YET_IN_MATRIX) <= {_prefix(p) for _, p in served}


def test_another_tenants_site_is_not_reachable_through_your_own_client(world: World) -> None:
    owner_site = site_target(world, world.owner.admin)
    intruder = world.other.admin
    own_client = world.call("POST", "/api/v1/clients", intruder.headers, new_client()).json()
    path = f"/api/v1/clients/{own_client['id']}/sites/{owner_site.id}"

    for method, body in (("GET", None), ("PATCH", {"name": "Mine now"}), ("DELETE", None)):
        assert_error(world.call(method, path, intruder.headers, body), 404, "not_found")

    assert owner_site.snapshot()[0]["name"].startswith("Site ")
    logged = cross_tenant_entries(world.client, world.owner.admin.headers)
    assert [(e["object_type"], e["object_id"]) for e in logged] == [("site", owner_site.id)] * 3
    assert cross_tenant_entries(world.client, intruder.headers) == []


def test_a_site_under_the_wrong_client_of_the_same_tenant_is_missing_not_an_intrusion(
    world: World,
) -> None:
    site = site_target(world, world.owner.admin)
    sibling = client_target(world, world.owner.admin)
    path = f"/api/v1/clients/{sibling.id}/sites/{site.id}"
    assert_error(world.call("GET", path, world.owner.admin.headers), 404, "not_found")
    assert cross_tenant_entries(world.client, world.owner.admin.headers) == []


def test_operators_see_and_delete_only_their_own_keys(world: World) -> None:
    operator, admin = world.owner.operator, world.owner.admin
    admins_key = key_target(world, admin)

    listed = world.call("GET", "/api/v1/api-keys", operator.headers).json()["items"]
    assert {item["user_id"] for item in listed} == {str(operator.user_id)}
    path = f"/api/v1/api-keys/{admins_key.id}"
    assert_error(world.call("DELETE", path, operator.headers), 404, "not_found")
    assert admins_key.snapshot()[0] is True
    # Same tenant: a miss, not an intrusion.
    assert cross_tenant_entries(world.client, admin.headers) == []


def test_a_deleted_key_and_a_disabled_users_key_stop_working(world: World) -> None:
    admin, operator, readonly = world.owner.admin, world.owner.operator, world.owner.readonly
    assert world.call("GET", "/api/v1/clients", operator.headers).status_code == 200

    keys = world.call("GET", "/api/v1/api-keys", operator.headers).json()["items"]
    for key in keys:
        deleted = world.call("DELETE", f"/api/v1/api-keys/{key['id']}", operator.headers)
        assert deleted.status_code == 204
    assert_error(world.call("GET", "/api/v1/clients", operator.headers), 401, "unauthenticated")

    disabled = world.call(
        "PATCH", f"/api/v1/users/{readonly.user_id}", admin.headers, {"disabled": True}
    )
    assert disabled.status_code == 200
    assert_error(world.call("GET", "/api/v1/clients", readonly.headers), 401, "unauthenticated")


def test_malformed_or_altered_credentials_are_refused_with_401(world: World) -> None:
    key = world.owner.admin.key
    for headers in (
        {"Authorization": f"Basic {key}"},
        {"Authorization": f"Token {key}"},
        {"Authorization": "Bearer"},
        {"Authorization": f"Bearer {key}x"},
        {"Authorization": f"Bearer {key[:-1]}"},
        {"Cookie": "fw_session=not-a-session"},
    ):
        response = world.call("GET", "/api/v1/clients", headers)
        assert_error(response, 401, "unauthenticated")
    assert world.call("GET", "/api/v1/clients", world.owner.admin.headers).status_code == 200
