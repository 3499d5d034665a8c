"""Tenant isolation and roles as a matrix: every resource route by every kind of caller.

One row of ROUTES per route says what it needs (read, write or admin), how to
make the object it acts on, and a valid body. Each row is checked against:

- anonymous and an unknown Bearer key: 401 with the JSON error shape;
- each role of the owning tenant: 2xx when the role suffices, 403 otherwise;
- the other tenant's admin: 404 shaped like a random missing id, with a
  `security.cross_tenant_access` entry in the caller's own audit log, when the
  path names the owner's object; its own data only, when it does not.

Every refused attempt leaves the owner's object and collection as they were.
A new resource is one more row per route (test_every_api_route_is_in_the_matrix insists).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from fleetward.bootstrap import Container
from fleetward.domain.audit import SYSTEM_CLI
from fleetward.domain.identity import Access, Role
from fleetward.domain.tokens import API_KEY_PREFIX, new_secret
from tests.conftest import PASSWORD, Actor, TenantFixture
from tests.support.api import CROSS_TENANT, assert_error, audit_entries, error_shape, unique


@dataclass
class World:
    client: TestClient
    container: Container
    owner: TenantFixture
    other: TenantFixture

    def call(
        self,
        method: str,
        path: str,
        headers: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> httpx.Response:
        response: httpx.Response = self.client.request(method, path, headers=headers, json=body)
        return response

    def owner_get(self, path: str) -> dict[str, Any] | None:
        response = self.call("GET", path, self.owner.admin.headers)
        if response.status_code == 404:
            return None
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found


@dataclass(frozen=True)
class Target:
    """The owner's object a route acts on."""

    params: dict[str, str]  # path parameters naming it
    id: str  # what must not leak to another tenant
    # The id the tenant check trips on first: a site is reached through its client.
    guard_id: str
    # The owner's view of the object and its collection, to prove a refusal changed nothing.
    snapshot: Callable[[], Any]


Factory = Callable[[World, Actor], Target]


def _collection_ids(world: World, path: str) -> list[str]:
    page = world.owner_get(f"{path}?limit=500")
    assert page is not None
    return sorted(item["id"] for item in page["items"])


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
            _collection_ids(world, "/api/v1/clients"),
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
        lambda: (world.owner_get(f"{sites}/{site_id}"), _collection_ids(world, sites)),
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
            _collection_ids(world, "/api/v1/users"),
        ),
    )


def key_target(world: World, actor: Actor) -> Target:
    """A key of the acting user: people other than admins manage only their own keys."""
    user = world.container.identity.user_by_email(actor.email)
    key, _ = world.container.identity.create_api_key(SYSTEM_CLI, user, unique("Target key"))
    key_id = str(key.id)

    def snapshot() -> Any:
        # Admins list every key of the tenant; last_used_at is not touched by this key.
        ids = _collection_ids(world, "/api/v1/api-keys")
        return key_id in ids, ids

    return Target({"key_id": key_id}, key_id, key_id, snapshot)


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


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    access: Access
    make: Factory
    body: Callable[[], dict[str, Any]] | None = None

    def __str__(self) -> str:
        return f"{self.method} {self.path}"

    def url(self, params: dict[str, str]) -> str:
        return self.path.format(**params)

    @property
    def names_an_object(self) -> bool:
        return "{" in self.path

    @property
    def success(self) -> int:
        return {"GET": 200, "POST": 201, "PATCH": 200, "DELETE": 204}[self.method]


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
]


@pytest.fixture
def world(
    client: TestClient, container: Container, tenant: TenantFixture, other_tenant: TenantFixture
) -> World:
    return World(client, container, tenant, other_tenant)


def _send(
    world: World, route: Route, target: Target, headers: dict[str, str] | None
) -> httpx.Response:
    return world.call(
        route.method, route.url(target.params), headers, route.body() if route.body else None
    )


def check_allowed(world: World, route: Route, actor: Actor) -> None:
    target = route.make(world, actor)
    response = _send(world, route, target, actor.headers)
    assert response.status_code == route.success, response.text
    if route.method == "GET":
        # The object itself, or a page (of objects, of audit entries) that shows it.
        assert target.id in response.text
    elif route.method == "PATCH":
        assert response.json()["id"] == target.id
    elif route.method == "DELETE":
        # Gone from the owner's view: neither the object nor in its collection.
        assert target.id not in str(target.snapshot())


def check_other_tenant(world: World, route: Route, target: Target, before: Any) -> None:
    intruder = world.other.admin
    response = _send(world, route, target, intruder.headers)

    if not route.names_an_object:
        # A collection route acts on the caller's own tenant and shows nothing of the owner's.
        assert response.status_code == route.success, response.text
        assert target.id not in response.text
        assert target.snapshot() == before
        return

    assert_error(response, 404, "not_found")
    random_ids = {name: str(uuid.uuid4()) for name in target.params}
    missing = _send(world, route, Target(random_ids, "", "", lambda: None), intruder.headers)
    assert error_shape(response) == error_shape(missing)
    assert target.snapshot() == before

    # The attempt is in the caller's own audit log, naming the object; a random id is not.
    logged = audit_entries(world.client, intruder.headers, action=CROSS_TENANT)
    assert not {e["object_id"] for e in logged} & set(random_ids.values())
    (entry,) = [e for e in logged if e["object_id"] == target.guard_id]
    assert entry["actor_type"] == "api_key"
    assert entry["actor_label"] == f"{intruder.email} (api key)"


def check_route(world: World, route: Route, subtests: pytest.Subtests) -> None:
    """One route against every kind of caller, each a subtest."""
    # Refusals change nothing, so they share one target; each success gets its own.
    target = route.make(world, world.owner.admin)
    before = target.snapshot()
    unknown_key = {"Authorization": f"Bearer {new_secret(API_KEY_PREFIX)}"}
    for label, headers in (("anonymous", None), ("unknown key", unknown_key)):
        with subtests.test(f"{route} as {label}"):
            response = _send(world, route, target, headers)
            assert_error(response, 401, "unauthenticated")
            assert response.headers["www-authenticate"] == "Bearer"
            assert target.snapshot() == before
    for actor in world.owner.actors.values():
        if route.access not in _granted(actor):
            with subtests.test(f"{route} as {actor.role.value}"):
                assert_error(_send(world, route, target, actor.headers), 403, "forbidden")
                assert target.snapshot() == before
    with subtests.test(f"{route} as the other tenant's admin"):
        check_other_tenant(world, route, target, before)
    for actor in world.owner.actors.values():
        if route.access in _granted(actor):
            with subtests.test(f"{route} as {actor.role.value}"):
                check_allowed(world, route, actor)


def _resource(route: Route) -> str:
    """clients, sites, users, api-keys, audit-log: one fresh pair of databases each."""
    return "sites" if "/sites" in route.path else route.path.split("/")[3]


RESOURCES = sorted({_resource(route) for route in ROUTES})


@pytest.mark.parametrize("resource", RESOURCES)
def test_each_route_answers_each_caller_as_its_access_says(
    world: World, resource: str, subtests: pytest.Subtests
) -> None:
    for route in ROUTES:
        if _resource(route) == resource:
            check_route(world, route, subtests)


def _granted(actor: Actor) -> set[Access]:
    """Design section 8: admin everything, operator no settings, readonly reads."""
    return {
        Role.ADMIN: {Access.READ, Access.WRITE, Access.ADMIN},
        Role.OPERATOR: {Access.READ, Access.WRITE},
        Role.READONLY: {Access.READ},
    }[actor.role]


# Resources that landed, with access tests of their own, before they had rows here.
# Each is a debt: give its routes rows in ROUTES, then delete its prefix from this list.
NOT_YET_IN_MATRIX = (
    "/api/v1/alert-rules",
    "/api/v1/alerts",
    "/api/v1/boards",
    "/api/v1/integrations",
    "/api/v1/maintenance-windows",
    "/api/v1/priorities",
    "/api/v1/tickets",
)


def _prefix(path: str) -> str:
    return "/".join(path.split("/")[:4])


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_every_api_route_is_in_the_matrix(client: TestClient) -> None:
    """Every operation that takes an API key has its row: a new resource cannot skip the matrix."""
    paths = client.get("/openapi.json").json()["paths"]
    served = {
        (method.upper(), path)
        for path, operations in paths.items()
        for method, operation in operations.items()
        if {"HTTPBearer": []} in operation.get("security", [])
    }
    assert {(m, p) for m, p in served if _prefix(p) not in NOT_YET_IN_MATRIX} == {
        (r.method, r.path) for r in ROUTES
    }
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
    logged = audit_entries(world.client, intruder.headers, action=CROSS_TENANT)
    assert [(e["object_type"], e["object_id"]) for e in logged] == [("site", owner_site.id)] * 3


def test_a_site_under_the_wrong_client_of_the_same_tenant_is_missing_not_an_intrusion(
    world: World,
) -> None:
    site = site_target(world, world.owner.admin)
    sibling = client_target(world, world.owner.admin)
    path = f"/api/v1/clients/{sibling.id}/sites/{site.id}"
    assert_error(world.call("GET", path, world.owner.admin.headers), 404, "not_found")
    assert audit_entries(world.client, world.owner.admin.headers, action=CROSS_TENANT) == []


def test_operators_see_and_delete_only_their_own_keys(world: World) -> None:
    operator, admin = world.owner.operator, world.owner.admin
    admins_key = key_target(world, admin)

    listed = world.call("GET", "/api/v1/api-keys", operator.headers).json()["items"]
    assert {item["user_id"] for item in listed} == {str(operator.user_id)}
    path = f"/api/v1/api-keys/{admins_key.id}"
    assert_error(world.call("DELETE", path, operator.headers), 404, "not_found")
    assert admins_key.snapshot()[0] is True
    # Same tenant: a miss, not an intrusion.
    assert audit_entries(world.client, admin.headers, action=CROSS_TENANT) == []


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
