"""The audit log over HTTP: every change, who made it, a diff, newest first, tamper-evident."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy.exc
from fastapi.testclient import TestClient
from sqlalchemy import text

from fleetward.bootstrap import Container
from fleetward.domain.audit import verify_chain
from fleetward.domain.tokens import display_prefix
from tests.conftest import PASSWORD, TenantFixture
from tests.support.api import audit_entries, unique


@dataclass(frozen=True)
class Resource:
    """How to create, change and delete one kind of object over the API."""

    type: str
    collection: str
    create: dict[str, Any]
    # A change and the fields it touches (updated_at moves with every real change).
    update: dict[str, Any] | None
    changed: frozenset[str] = frozenset()


RESOURCES = [
    Resource(
        "client",
        "/api/v1/clients",
        {"name": "Contoso", "notes": "first"},
        {"notes": "second"},
        frozenset({"notes", "updated_at"}),
    ),
    Resource(
        "site",
        "/api/v1/clients/{client_id}/sites",
        {"name": "HQ", "address": "1 Main St"},
        {"name": "Head office"},
        frozenset({"name", "updated_at"}),
    ),
    Resource(
        "user",
        "/api/v1/users",
        {"email": "new@acme.test", "role": "readonly", "password": PASSWORD},
        {"role": "operator"},
        frozenset({"role", "updated_at"}),
    ),
    Resource("api_key", "/api/v1/api-keys", {"name": "CI pipeline"}, None),
]


def key_id_of(client: TestClient, tenant: TenantFixture) -> str:
    """The id of the admin's own API key, which the log names as the actor."""
    keys = client.get("/api/v1/api-keys", headers=tenant.admin.headers).json()["items"]
    (key,) = [k for k in keys if k["prefix"] == display_prefix(tenant.admin.key)]
    return str(key["id"])


def test_each_change_is_logged_with_actor_action_object_and_diff(
    client: TestClient, tenant: TenantFixture, subtests: pytest.Subtests
) -> None:
    actor_key = key_id_of(client, tenant)
    for resource in RESOURCES:
        with subtests.test(resource.type):
            check_logged(client, tenant, resource, actor_key)


def check_logged(
    client: TestClient, tenant: TenantFixture, resource: Resource, actor_key: str
) -> None:
    h = tenant.admin.headers
    parent = client.post("/api/v1/clients", json={"name": unique("Parent")}, headers=h).json()
    collection = resource.collection.format(client_id=parent["id"])

    created = client.post(collection, json=resource.create, headers=h)
    assert created.status_code == 201, created.text
    object_id = created.json()["id"]
    if resource.update is not None:
        updated = client.patch(f"{collection}/{object_id}", json=resource.update, headers=h)
        assert updated.status_code == 200, updated.text
    assert client.delete(f"{collection}/{object_id}", headers=h).status_code == 204

    entries = audit_entries(client, h, object_id=object_id)
    verbs = ["delete", "update", "create"] if resource.update else ["delete", "create"]
    assert [e["action"] for e in entries] == [f"{resource.type}.{verb}" for verb in verbs]
    for entry in entries:
        assert entry["object_type"] == resource.type
        assert entry["object_id"] == object_id
        assert entry["actor_type"] == "api_key"
        assert entry["actor_id"] == actor_key
        assert entry["actor_label"] == f"{tenant.admin.email} (api key)"

    deleted, *rest, made = entries
    # A create shows the whole new object, a delete the whole last state.
    assert made["before"] is None
    assert made["after"]["id"] == object_id
    for field, value in resource.create.items():
        if field != "password":
            assert made["after"][field] == value
    last_state = dict(made["after"])
    if resource.update is not None:
        (change,) = rest
        # An update shows only what changed.
        assert set(change["before"]) == set(change["after"]) == resource.changed
        for field, value in resource.update.items():
            assert change["after"][field] == value
            assert change["before"][field] == made["after"][field]
        assert change["before"]["updated_at"] < change["after"]["updated_at"]
        last_state.update(change["after"])
    assert deleted["before"] == last_state
    assert deleted["after"] is None


def test_a_change_that_changes_nothing_is_not_logged(
    client: TestClient, tenant: TenantFixture
) -> None:
    h = tenant.admin.headers
    made = client.post("/api/v1/clients", json={"name": "Contoso", "notes": "x"}, headers=h)
    path = f"/api/v1/clients/{made.json()['id']}"
    assert client.patch(path, json={"name": "Contoso", "notes": "x"}, headers=h).status_code == 200
    assert client.patch(path, json={}, headers=h).status_code == 200
    assert audit_entries(client, h, action="client.update") == []


def test_secrets_never_reach_the_log(client: TestClient, tenant: TenantFixture) -> None:
    h = tenant.admin.headers
    made = client.post(
        "/api/v1/users",
        json={"email": "new@acme.test", "role": "operator", "password": "first secret 123"},
        headers=h,
    )
    user_id = made.json()["id"]
    reset = client.patch(
        f"/api/v1/users/{user_id}", json={"password": "second secret 456"}, headers=h
    )
    assert reset.status_code == 200
    key = client.post("/api/v1/api-keys", json={"name": "CI"}, headers=h).json()

    log = audit_entries(client, h)
    assert [e["action"] for e in log[:3]] == ["api_key.create", "user.password_set", "user.create"]
    password_set = log[1]
    assert (password_set["object_id"], password_set["before"], password_set["after"]) == (
        user_id,
        None,
        None,
    )
    dump = str(log)
    for secret in ("first secret 123", "second secret 456", key["key"], "$argon2"):
        assert secret not in dump
    for entry in log:
        for snapshot in (entry["before"] or {}, entry["after"] or {}):
            assert not {"password", "password_hash", "key", "key_hash"} & set(snapshot)


def test_the_log_reads_newest_first_in_keyset_pages(
    client: TestClient, container: Container, tenant: TenantFixture
) -> None:
    h = tenant.admin.headers
    names = [f"Client {i}" for i in range(7)]
    for name in names:
        assert client.post("/api/v1/clients", json={"name": name}, headers=h).status_code == 201

    pages: list[list[dict[str, Any]]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 4, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/audit-log", params=params, headers=h).json()
        pages.append(page["items"])
        cursor = page["next"]
        if cursor is None:
            break
    walked = [entry for page in pages for entry in page]
    with container.identity.uow.read() as repos:
        total = len(repos.audit.chain(tenant.id))
    assert [len(p) for p in pages[:-1]] == [4] * (len(pages) - 1)
    assert [e["seq"] for e in walked] == list(range(total, 0, -1))
    assert walked == audit_entries(client, h)

    created = audit_entries(client, h, action="client.create")
    assert [e["after"]["name"] for e in created] == names[::-1]
    assert created[0] == walked[0]


def test_the_hash_chain_verifies_and_shows_tampering(
    client: TestClient, container: Container, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    h = tenant.admin.headers
    # Text that a careless JSON round trip through either engine would change.
    made = client.post(
        "/api/v1/clients",
        json={"name": "Zürich Ωmega 東京", "notes": 'line 1\nline "2"\t\\ end'},
        headers=h,
    ).json()
    client.patch(f"/api/v1/clients/{made['id']}", json={"notes": "ünïcödé"}, headers=h)
    client.get(f"/api/v1/clients/{made['id']}", headers=other_tenant.admin.headers)
    client.delete(f"/api/v1/clients/{made['id']}", headers=h)

    for fixture in (tenant, other_tenant):
        with container.identity.uow.read() as repos:
            chain = repos.audit.chain(fixture.id)
        assert len(chain) > 3
        assert verify_chain(chain) is None

    # What the API shows links up too: each entry names the hash of the one before it.
    shown = audit_entries(client, h)[::-1]
    assert [e["prev_hash"] for e in shown[1:]] == [e["hash"] for e in shown[:-1]]

    with container.identity.uow.read() as repos:
        chain = repos.audit.chain(tenant.id)
    entry, digest = chain[-2]
    forged = dataclasses.replace(entry, after={"notes": "nothing to see"})
    assert verify_chain([*chain[:-2], (forged, digest), chain[-1]]) == entry.seq
    assert verify_chain(chain[:2] + chain[3:]) == chain[3][0].seq


def test_the_database_refuses_to_change_the_log(
    client: TestClient, container: Container, tenant: TenantFixture
) -> None:
    client.post("/api/v1/clients", json={"name": "Contoso"}, headers=tenant.admin.headers)
    before = audit_entries(client, tenant.admin.headers)

    for statement in (
        "UPDATE audit_log SET action = 'client.nothing'",
        "DELETE FROM audit_log",
    ):
        with (
            pytest.raises(sqlalchemy.exc.DBAPIError, match="append-only"),
            container.db.engine.begin() as conn,
        ):
            conn.execute(text(statement))

    assert audit_entries(client, tenant.admin.headers) == before
    with container.identity.uow.read() as repos:
        assert verify_chain(repos.audit.chain(tenant.id)) is None
