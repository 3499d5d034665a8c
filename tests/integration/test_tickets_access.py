"""Who may do what with tickets and their settings, and what bad input gets.

Readonly users read; operators also work tickets; only admins change boards,
statuses and priorities. Another tenant's ids answer 404 and are audited.
Bad input answers 422 naming the field, never a 5xx.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Actor, TenantFixture
from tests.support.api import assert_error, cross_tenant_entries


@dataclass
class Owned:
    """One object of each kind in a tenant, with the paths that reach them."""

    board: str
    status: str
    priority: str
    ticket: str
    other_board_status: str

    @property
    def paths(self) -> dict[str, str]:
        return {
            "board": f"/api/v1/boards/{self.board}",
            "statuses": f"/api/v1/boards/{self.board}/statuses",
            "status": f"/api/v1/boards/{self.board}/statuses/{self.status}",
            "priority": f"/api/v1/priorities/{self.priority}",
            "ticket": f"/api/v1/tickets/{self.ticket}",
            "comments": f"/api/v1/tickets/{self.ticket}/comments",
            "time": f"/api/v1/tickets/{self.ticket}/time-entries",
        }


def setup(client: TestClient, tenant: TenantFixture) -> Owned:
    h = tenant.admin.headers
    board = client.get("/api/v1/boards", headers=h).json()["items"][0]["id"]
    status = client.post(
        f"/api/v1/boards/{board}/statuses", json={"name": "Parked", "kind": "open"}, headers=h
    ).json()["id"]
    priority = client.post("/api/v1/priorities", json={"name": "Someday"}, headers=h).json()["id"]
    ticket = client.post("/api/v1/tickets", json={"title": "Disk full"}, headers=h).json()["id"]
    other = client.post("/api/v1/boards", json={"name": "Projects"}, headers=h).json()["id"]
    other_status = client.get(f"/api/v1/boards/{other}/statuses", headers=h).json()["items"][0]
    return Owned(board, status, priority, ticket, other_status["id"])


def writes(owned: Owned) -> dict[str, list[tuple[str, str, dict[str, Any] | None]]]:
    """Each write, grouped by the access it needs."""
    p = owned.paths
    return {
        "settings": [
            ("POST", "/api/v1/boards", {"name": "Another"}),
            ("PATCH", p["board"], {"name": "Renamed"}),
            ("DELETE", p["board"], None),
            ("POST", p["statuses"], {"name": "Blocked", "kind": "open"}),
            ("PATCH", p["status"], {"name": "Renamed"}),
            ("DELETE", p["status"], None),
            ("POST", "/api/v1/priorities", {"name": "Whenever"}),
            ("PATCH", p["priority"], {"name": "Renamed"}),
            ("DELETE", p["priority"], None),
        ],
        "tickets": [
            ("POST", "/api/v1/tickets", {"title": "Another"}),
            ("PATCH", p["ticket"], {"title": "Renamed"}),
            ("POST", p["comments"], {"body": "On it"}),
            ("POST", p["time"], {"minutes": 15}),
        ],
    }


def everything(client: TestClient, actor: Actor, owned: Owned) -> list[Any]:
    """What the owner can see of all of it, to show a refusal changed nothing."""
    return [
        client.get(path, headers=actor.headers).json()
        for path in (
            "/api/v1/boards",
            "/api/v1/priorities",
            "/api/v1/tickets",
            *owned.paths.values(),
        )
    ]


def test_readonly_reads_everything_and_writes_nothing(
    client: TestClient, tenant: TenantFixture
) -> None:
    owned = setup(client, tenant)
    reader = tenant.readonly
    for path in ("/api/v1/boards", "/api/v1/priorities", "/api/v1/tickets", *owned.paths.values()):
        assert client.get(path, headers=reader.headers).status_code == 200, path
    before = everything(client, tenant.admin, owned)
    for group in writes(owned).values():
        for method, path, body in group:
            response = client.request(method, path, json=body, headers=reader.headers)
            assert_error(response, 403, "forbidden")
    assert everything(client, tenant.admin, owned) == before


def test_operators_work_tickets_but_do_not_change_settings(
    client: TestClient, tenant: TenantFixture
) -> None:
    owned = setup(client, tenant)
    operator = tenant.operator
    before = everything(client, tenant.admin, owned)
    for method, path, body in writes(owned)["settings"]:
        response = client.request(method, path, json=body, headers=operator.headers)
        assert_error(response, 403, "forbidden")
    assert everything(client, tenant.admin, owned) == before
    for method, path, body in writes(owned)["tickets"]:
        response = client.request(method, path, json=body, headers=operator.headers)
        assert response.status_code in (200, 201), (method, path, response.text)


def test_another_tenants_objects_are_missing_and_the_attempt_is_audited(
    client: TestClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    owned = setup(client, tenant)
    intruder = other_tenant.admin
    before = everything(client, tenant.admin, owned)

    for path in owned.paths.values():
        assert_error(client.get(path, headers=intruder.headers), 404, "not_found")
    for group in writes(owned).values():
        for method, path, body in group:
            if path.count("/") == 3:
                continue  # a top-level collection: acts on the intruder's own tenant
            response = client.request(method, path, json=body, headers=intruder.headers)
            assert_error(response, 404, "not_found")
    assert everything(client, tenant.admin, owned) == before

    assert cross_tenant_entries(client, intruder.headers) == []
    logged = cross_tenant_entries(client, tenant.admin.headers)
    assert {(e["object_type"], e["object_id"]) for e in logged} == {
        ("board", owned.board),
        ("priority", owned.priority),
        ("ticket", owned.ticket),
    }
    # Their own lists show none of it.
    own_tickets = client.get("/api/v1/tickets", headers=intruder.headers).json()["items"]
    assert own_tickets == []
    own_boards = client.get("/api/v1/boards", headers=intruder.headers).json()["items"]
    assert owned.board not in {b["id"] for b in own_boards}


def test_another_tenants_ids_in_a_body_are_refused_naming_the_field(
    client: TestClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    mine = setup(client, tenant)
    theirs = setup(client, other_tenant)
    their_client = client.post(
        "/api/v1/clients", json={"name": "Globex"}, headers=other_tenant.admin.headers
    ).json()["id"]
    h = tenant.operator.headers
    for field, value in (
        ("board_id", theirs.board),
        ("priority_id", theirs.priority),
        ("client_id", their_client),
        ("assignee_id", str(other_tenant.operator.user_id)),
    ):
        create = {"title": "Mine", field: value}
        assert_error(client.post("/api/v1/tickets", json=create, headers=h), 422, "invalid", field)
        if field in ("priority_id", "assignee_id"):  # a ticket keeps its board and client
            patch = client.patch(mine.paths["ticket"], json={field: value}, headers=h)
            assert_error(patch, 422, "invalid", field)
    patch = client.patch(mine.paths["ticket"], json={"status_id": theirs.status}, headers=h)
    assert_error(patch, 422, "invalid", "status_id")
    assert len(client.get("/api/v1/tickets", headers=h).json()["items"]) == 1


@pytest.fixture
def owned(client: TestClient, tenant: TenantFixture) -> Owned:
    return setup(client, tenant)


# An id no object has: fixed, so every test process collects the same test ids.
MISSING_ID = "00000000-0000-4000-8000-00000000beef"

BAD_BODIES = [
    ("POST", "time", {"minutes": 0}, "minutes"),
    ("POST", "time", {"minutes": 2000}, "minutes"),
    ("POST", "time", {"minutes": "lots"}, "minutes"),
    ("POST", "time", {}, "minutes"),
    ("POST", "time", {"minutes": 5, "user_id": MISSING_ID}, "user_id"),
    ("POST", "comments", {"body": ""}, "body"),
    ("POST", "comments", {"body": "   \n "}, "body"),
    ("POST", "comments", {"body": "nul \x00 inside"}, "body"),
    ("POST", "comments", {"body": "x" * 10_001}, "body"),
    ("PATCH", "ticket", {"status_id": MISSING_ID}, "status_id"),
    ("PATCH", "ticket", {"status_id": "new"}, "status_id"),
    ("PATCH", "ticket", {"status_id": None}, "status_id"),
    ("PATCH", "ticket", {"title": None}, "title"),
    ("PATCH", "ticket", {"title": "   "}, "title"),
    ("PATCH", "ticket", {"title": "x" * 501}, "title"),
    ("PATCH", "ticket", {"priority_id": MISSING_ID}, "priority_id"),
    ("PATCH", "ticket", {"assignee_id": MISSING_ID}, "assignee_id"),
    ("PATCH", "ticket", {"is_closed": True}, "is_closed"),
    ("PATCH", "ticket", {"number": 7}, "number"),
    ("POST", "statuses", {"name": "Blocked", "kind": "pending"}, "kind"),
    ("POST", "statuses", {"name": "Blocked"}, "kind"),
    ("POST", "statuses", {"name": "x" * 101, "kind": "open"}, "name"),
    ("PATCH", "status", {"position": -1}, "position"),
    ("PATCH", "board", {"default_status_id": MISSING_ID}, "default_status_id"),
    ("PATCH", "board", {"name": "  "}, "name"),
    ("PATCH", "priority", {"name": "\x1b[2J"}, "name"),
]


@pytest.mark.parametrize(("method", "where", "body", "field"), BAD_BODIES, ids=str)
def test_bad_bodies_are_refused_naming_the_field(
    client: TestClient,
    tenant: TenantFixture,
    owned: Owned,
    method: str,
    where: str,
    body: dict[str, Any],
    field: str,
) -> None:
    before = everything(client, tenant.admin, owned)
    response = client.request(method, owned.paths[where], json=body, headers=tenant.admin.headers)
    assert_error(response, 422, "invalid", field)
    assert everything(client, tenant.admin, owned) == before


def test_a_status_of_another_board_is_refused_naming_the_field(
    client: TestClient, tenant: TenantFixture, owned: Owned
) -> None:
    response = client.patch(
        owned.paths["ticket"],
        json={"status_id": owned.other_board_status},
        headers=tenant.operator.headers,
    )
    error = assert_error(response, 422, "invalid", "status_id")
    assert "board" in error["message"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"is_closed": "maybe"}, "is_closed"),
        ({"status_id": "not-a-uuid"}, "status_id"),
        ({"assignee_id": "42"}, "assignee_id"),
        ({"cursor": "garbage"}, "cursor"),
        ({"cursor": "WyJ4Il0"}, "cursor"),  # a list holding a string, not a number
        ({"limit": 0}, "limit"),
    ],
    ids=str,
)
def test_bad_list_parameters_are_refused_naming_them(
    client: TestClient, tenant: TenantFixture, params: dict[str, Any], field: str
) -> None:
    response = client.get("/api/v1/tickets", params=params, headers=tenant.readonly.headers)
    assert_error(response, 422, "invalid", field)
