"""Clients and sites over HTTP, on both engines."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import TenantFixture


def test_client_crud_round_trip(client: TestClient, tenant: TenantFixture) -> None:
    h = tenant.operator.headers
    created = client.post("/api/v1/clients", json={"name": "  Contoso   Ltd "}, headers=h)
    assert created.status_code == 201
    body = created.json()
    assert body["name"] == "Contoso Ltd"
    client_id = body["id"]

    assert client.get(f"/api/v1/clients/{client_id}", headers=h).json()["name"] == "Contoso Ltd"
    patched = client.patch(f"/api/v1/clients/{client_id}", json={"notes": "VIP"}, headers=h)
    assert patched.status_code == 200
    assert patched.json()["notes"] == "VIP"
    assert patched.json()["updated_at"] > body["updated_at"]

    site = client.post(f"/api/v1/clients/{client_id}/sites", json={"name": "HQ"}, headers=h)
    assert site.status_code == 201
    sites = client.get(f"/api/v1/clients/{client_id}/sites", headers=h).json()
    assert [s["name"] for s in sites["items"]] == ["HQ"]

    assert client.delete(f"/api/v1/clients/{client_id}", headers=h).status_code == 204
    assert client.get(f"/api/v1/clients/{client_id}", headers=h).status_code == 404
    # Deleting a client takes its sites with it.
    assert client.get(f"/api/v1/clients/{client_id}/sites", headers=h).status_code == 404


def test_duplicate_client_name_is_a_conflict_naming_the_field(
    client: TestClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    assert (
        client.post(
            "/api/v1/clients", json={"name": "Contoso"}, headers=tenant.admin.headers
        ).status_code
        == 201
    )
    again = client.post("/api/v1/clients", json={"name": "Contoso"}, headers=tenant.admin.headers)
    assert again.status_code == 409
    assert again.json()["error"]["field"] == "name"
    # Names are unique per tenant only.
    elsewhere = client.post(
        "/api/v1/clients", json={"name": "Contoso"}, headers=other_tenant.admin.headers
    )
    assert elsewhere.status_code == 201


def test_keyset_pagination_walks_every_client_once(
    client: TestClient, tenant: TenantFixture
) -> None:
    h = tenant.admin.headers
    names = {f"Client {i:02d}" for i in range(7)}
    for name in names:
        assert client.post("/api/v1/clients", json={"name": name}, headers=h).status_code == 201
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/clients", params=params, headers=h).json()
        seen += [item["name"] for item in page["items"]]
        pages += 1
        cursor = page["next"]
        if cursor is None:
            break
    assert pages == 3
    assert sorted(seen) == sorted(names)
    assert len(seen) == len(set(seen))
