"""The tenant isolation and role matrix: routes, the objects they act on, the checks.

tests/integration/test_isolation_matrix.py (clients, sites, users, keys, audit),
test_isolation_matrix_pipeline.py (the alert pipeline) and
test_isolation_matrix_agents.py (enrolment tokens, agents, the timeline) each
hold a table of `Route`s; `check_resource` runs every route of one resource
against every kind of caller:

- anonymous and an unknown Bearer key: 401 with the JSON error shape;
- each role of the owning tenant: 2xx when the role suffices, 403 otherwise;
- the other tenant's admin: 404 shaped like a random missing id, with a
  `security.cross_tenant_access` entry naming the caller in the OWNER's audit
  log, when the path (or a query parameter, `Route.query`) names the owner's
  object; 422 shaped like random ids, when only the body does; its own data
  only, when neither does. Whatever names the owner's objects, the caller sees
  the same as for random ids: status, headers, body, and its own audit log,
  unchanged either way.

Every refused attempt leaves the owner's object and collection as they were.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from fleetward.bootstrap import Container
from fleetward.domain.identity import Access, Role
from fleetward.domain.tokens import API_KEY_PREFIX, new_secret
from tests.conftest import Actor, TenantFixture
from tests.support.api import (
    UUID_RE,
    assert_error,
    audit_entries,
    cross_tenant_entries,
    error_shape,
    prober_view,
)

Refs = dict[str, Any]


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

    def prober_log(self) -> list[dict[str, Any]]:
        """The other tenant's whole audit log, once every pending attempt is recorded."""
        self.container.probes.drain()
        return audit_entries(self.client, self.other.admin.headers)

    def owner_post(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """Made by the owner's admin, for a route to act on."""
        response = self.call("POST", path, self.owner.admin.headers, body)
        assert response.status_code in (200, 201), response.text
        made: dict[str, Any] = response.json()
        return made


def _no_refs() -> Refs:
    return {}


@dataclass(frozen=True)
class Target:
    """The owner's object a route acts on."""

    params: dict[str, str]  # path parameters naming it
    id: str  # what must not leak to another tenant
    # The id the tenant check trips on first: a site is reached through its client.
    guard_id: str
    # The owner's view of the object and its collection, to prove a refusal changed nothing.
    snapshot: Callable[[], Any]
    # Other ids of the owner's that a body names (a client to map to, rules to reorder),
    # looked up when the request is sent.
    refs: Callable[[], Refs] = field(default=_no_refs)


Factory = Callable[[World, Actor], Target]


def items(world: World, path: str) -> list[dict[str, Any]]:
    """The owner's whole collection (one page), in the order the API gives it."""
    page = world.owner_get(f"{path}{'&' if '?' in path else '?'}limit=500")
    assert page is not None
    assert page["next"] is None
    found: list[dict[str, Any]] = page["items"]
    return found


def collection_ids(world: World, path: str) -> list[str]:
    return sorted(item["id"] for item in items(world, path))


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    access: Access
    make: Factory
    body: Callable[[], dict[str, Any]] | None = None
    # A body naming the owner's other objects, from the target's refs.
    body_from: Callable[[Refs], dict[str, Any]] | None = None
    status: int | None = None  # when success is not the method's usual answer
    # Checks an allowed caller's answer instead of the method's usual check.
    expect: Callable[[Target, httpx.Response], None] | None = None
    # Target params sent as query parameters (GET /timeline?pc_id=...): the URL then
    # names the owner's object as a path parameter would.
    query: tuple[str, ...] = ()
    # A query string every call sends (GET /search?q=...); it names no object.
    fixed_query: str = ""

    def __str__(self) -> str:
        return f"{self.method} {self.path}"

    def url(self, params: dict[str, str]) -> str:
        path = self.path.format(**params)
        if self.query:
            path += "?" + "&".join(f"{name}={params[name]}" for name in self.query)
        if self.fixed_query:
            path += ("&" if "?" in path else "?") + self.fixed_query
        return path

    @property
    def names_an_object(self) -> bool:
        return "{" in self.path or bool(self.query)

    @property
    def success(self) -> int:
        if self.status is not None:
            return self.status
        return {"GET": 200, "POST": 201, "PATCH": 200, "DELETE": 204}[self.method]


def send(
    world: World, route: Route, target: Target, headers: dict[str, str] | None
) -> httpx.Response:
    body = None
    if route.body is not None:
        body = route.body()
    elif route.body_from is not None:
        body = route.body_from(target.refs())
    return world.call(route.method, route.url(target.params), headers, body)


def _randomized(value: Any) -> Any:
    """The same body with every id replaced by a random one."""
    if isinstance(value, str) and UUID_RE.fullmatch(value):
        return str(uuid.uuid4())
    if isinstance(value, list):
        return [_randomized(v) for v in value]
    if isinstance(value, dict):
        return {k: _randomized(v) for k, v in value.items()}
    return value


def granted(actor: Actor) -> set[Access]:
    """Design section 8: admin everything, operator no settings, readonly reads."""
    return {
        Role.ADMIN: {Access.READ, Access.WRITE, Access.ADMIN},
        Role.OPERATOR: {Access.READ, Access.WRITE},
        Role.READONLY: {Access.READ},
    }[actor.role]


def check_allowed(world: World, route: Route, actor: Actor) -> None:
    target = route.make(world, actor)
    response = send(world, route, target, actor.headers)
    assert response.status_code == route.success, response.text
    if route.expect is not None:
        route.expect(target, response)
    elif route.method == "GET":
        # The object itself, or a page (of objects, of audit entries) that shows it.
        assert target.id in response.text
    elif route.method == "PATCH":
        assert response.json()["id"] == target.id
    elif route.method == "DELETE":
        # Gone from the owner's view: neither the object nor in its collection.
        assert target.id not in str(target.snapshot())


def check_other_tenant(world: World, route: Route, target: Target, before: Any) -> None:
    intruder = world.other.admin
    prober_log = world.prober_log()
    response = send(world, route, target, intruder.headers)

    if not route.names_an_object and route.body_from is None:
        # A collection route acts on the caller's own tenant and shows nothing of the owner's.
        assert response.status_code == route.success, response.text
        assert target.id not in response.text
        assert target.snapshot() == before
        return

    # All the prober sees, the answer and its own audit log, is the same for the
    # owner's ids as for random ones.
    after_real = world.prober_log()
    random_ids = {name: str(uuid.uuid4()) for name in target.params}
    stranger = Target(random_ids, "", "", lambda: None, lambda: _randomized(target.refs()))
    missing = send(world, route, stranger, intruder.headers)
    assert error_shape(response) == error_shape(missing)
    assert prober_view(response) == prober_view(missing)
    assert prober_log == after_real == world.prober_log()
    assert target.snapshot() == before

    if not route.names_an_object:
        # Only the body names the owner's objects: they are not the caller's, which is
        # invalid input naming the field, worded as for random ids (design: 422).
        assert_error(response, 422, "invalid")
        return

    assert_error(response, 404, "not_found")
    # The attempt is in the owner's audit log, naming the prober; a random id is nowhere.
    logged = cross_tenant_entries(world.client, world.owner.admin.headers)
    assert not {e["object_id"] for e in logged} & set(random_ids.values())
    (entry,) = [e for e in logged if e["object_id"] == target.guard_id]
    assert entry["actor_type"] == "api_key"
    assert entry["actor_label"] == f"{intruder.email} (api key)"
    assert entry["after"]["tenant_id"] == str(world.other.id)
    assert entry["after"]["tenant"] == world.other.name


def check_route(world: World, route: Route, subtests: pytest.Subtests) -> None:
    """One route against every kind of caller, each a subtest."""
    # Refusals change nothing, so they share one target; each success gets its own.
    target = route.make(world, world.owner.admin)
    before = target.snapshot()
    unknown_key = {"Authorization": f"Bearer {new_secret(API_KEY_PREFIX)}"}
    for label, headers in (("anonymous", None), ("unknown key", unknown_key)):
        with subtests.test(f"{route} as {label}"):
            response = send(world, route, target, headers)
            assert_error(response, 401, "unauthenticated")
            assert response.headers["www-authenticate"] == "Bearer"
            assert target.snapshot() == before
    for actor in world.owner.actors.values():
        if route.access not in granted(actor):
            with subtests.test(f"{route} as {actor.role.value}"):
                assert_error(send(world, route, target, actor.headers), 403, "forbidden")
                assert target.snapshot() == before
    with subtests.test(f"{route} as the other tenant's admin"):
        check_other_tenant(world, route, target, before)
    for actor in world.owner.actors.values():
        if route.access in granted(actor):
            with subtests.test(f"{route} as {actor.role.value}"):
                check_allowed(world, route, actor)


def resource_of(route: Route) -> str:
    """clients, sites, users, integrations, ...: one fresh pair of databases each."""
    return "sites" if "/sites" in route.path else route.path.split("/")[3]


def resources(routes: Sequence[Route]) -> list[str]:
    return sorted({resource_of(route) for route in routes})


def check_resource(
    world: World, routes: Sequence[Route], resource: str, subtests: pytest.Subtests
) -> None:
    for route in routes:
        if resource_of(route) == resource:
            check_route(world, route, subtests)
