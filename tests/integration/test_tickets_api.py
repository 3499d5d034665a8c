"""Tickets and their settings over the REST API, on both engines.

Boards, statuses and priorities: what a fresh tenant sees, round trips, and
the refusals that keep tickets consistent. Tickets: create, read, change,
comment, book time, list with filters and pages.
"""

from __future__ import annotations

from typing import Any

import httpx
from fastapi.testclient import TestClient

from tests.conftest import Actor, TenantFixture
from tests.support.api import assert_error, audit_entries

BOARDS = "/api/v1/boards"
PRIORITIES = "/api/v1/priorities"
TICKETS = "/api/v1/tickets"


def call(
    client: TestClient,
    method: str,
    path: str,
    actor: Actor,
    body: dict[str, Any] | None = None,
    status: int = 200,
    **params: Any,
) -> Any:
    response: httpx.Response = client.request(
        method, path, json=body, headers=actor.headers, params=params or None
    )
    assert response.status_code == status, response.text
    return None if status == 204 else response.json()


def statuses(client: TestClient, actor: Actor, board_id: str) -> dict[str, dict[str, Any]]:
    page = call(client, "GET", f"{BOARDS}/{board_id}/statuses", actor)
    assert page["next"] is None
    return {s["name"]: s for s in page["items"]}


def first_board(client: TestClient, actor: Actor) -> dict[str, Any]:
    board: dict[str, Any] = call(client, "GET", BOARDS, actor)["items"][0]
    return board


def new_ticket(client: TestClient, actor: Actor, **fields: Any) -> dict[str, Any]:
    ticket: dict[str, Any] = call(
        client, "POST", TICKETS, actor, {"title": "Printer jams", **fields}, 201
    )
    return ticket


def new_client(client: TestClient, tenant: TenantFixture, name: str = "Contoso") -> str:
    body = call(client, "POST", "/api/v1/clients", tenant.admin, {"name": name}, 201)
    return str(body["id"])


def test_a_fresh_tenant_sees_a_usable_board_statuses_and_priorities(
    client: TestClient, tenant: TenantFixture
) -> None:
    reader = tenant.readonly
    boards = call(client, "GET", BOARDS, reader)
    assert [b["name"] for b in boards["items"]] == ["Service Desk"]
    board = boards["items"][0]
    listed = call(client, "GET", f"{BOARDS}/{board['id']}/statuses", reader)["items"]
    assert [(s["name"], s["kind"]) for s in listed] == [
        ("New", "open"),
        ("In progress", "open"),
        ("Waiting", "open"),
        ("Resolved", "closed"),
        ("Closed", "closed"),
    ]
    assert board["default_status_id"] == listed[0]["id"]
    priorities = call(client, "GET", PRIORITIES, reader)
    assert [p["name"] for p in priorities["items"]] == ["Urgent", "High", "Medium", "Low"]
    assert priorities["next"] is None

    # Looking again creates nothing more.
    assert call(client, "GET", BOARDS, reader) == boards
    assert len(call(client, "GET", PRIORITIES, reader)["items"]) == 4


def test_a_ticket_goes_to_the_first_board_in_its_default_status(
    client: TestClient, tenant: TenantFixture
) -> None:
    # No look at the settings first: opening a ticket sets them up too.
    ticket = new_ticket(client, tenant.operator, description="Tray 2, every morning")
    board = first_board(client, tenant.operator)
    assert ticket["board_id"] == board["id"]
    assert ticket["status_id"] == board["default_status_id"]
    assert ticket["number"] == 1
    assert ticket["is_closed"] is False
    assert ticket["closed_at"] is None
    assert ticket["dedup_key"] is None
    assert ticket["alert_ids"] == []
    assert ticket["occurrence_count"] == 0
    assert ticket["description"] == "Tray 2, every morning"
    assert call(client, "GET", f"{TICKETS}/{ticket['id']}", tenant.readonly) == ticket


def test_a_new_board_has_the_default_statuses_and_can_be_renamed_and_removed(
    client: TestClient, tenant: TenantFixture
) -> None:
    admin = tenant.admin
    board = call(client, "POST", BOARDS, admin, {"name": "Projects"}, 201)
    own = statuses(client, admin, board["id"])
    assert list(own) == ["New", "In progress", "Waiting", "Resolved", "Closed"]
    assert board["default_status_id"] == own["New"]["id"]
    # The default board still comes first: alerts keep landing there.
    assert [b["name"] for b in call(client, "GET", BOARDS, admin)["items"]] == [
        "Service Desk",
        "Projects",
    ]

    path = f"{BOARDS}/{board['id']}"
    changed = call(
        client,
        "PATCH",
        path,
        admin,
        {"name": "Projects 2026", "default_status_id": own["Waiting"]["id"]},
    )
    assert changed["name"] == "Projects 2026"
    assert changed["default_status_id"] == own["Waiting"]["id"]
    assert call(client, "GET", path, tenant.readonly) == changed
    ticket = new_ticket(client, tenant.operator, board_id=board["id"])
    assert ticket["status_id"] == own["Waiting"]["id"]

    assert_error(
        client.post(BOARDS, json={"name": "Projects 2026"}, headers=admin.headers), 409, "conflict"
    )

    # Tickets keep a board alive; so does being the last one.
    assert_error(client.delete(path, headers=admin.headers), 409, "conflict")
    empty = call(client, "POST", BOARDS, admin, {"name": "Empty"}, 201)
    call(client, "DELETE", f"{BOARDS}/{empty['id']}", admin, status=204)
    assert_error(client.get(f"{BOARDS}/{empty['id']}", headers=admin.headers), 404, "not_found")
    assert_error(
        client.get(f"{BOARDS}/{empty['id']}/statuses", headers=admin.headers), 404, "not_found"
    )
    actions = [e["action"] for e in audit_entries(client, admin.headers, object_id=empty["id"])]
    assert actions == ["board.delete", "board.create"]


def test_the_last_board_cannot_be_deleted(client: TestClient, tenant: TenantFixture) -> None:
    board = first_board(client, tenant.admin)
    error = assert_error(
        client.delete(f"{BOARDS}/{board['id']}", headers=tenant.admin.headers), 409, "conflict"
    )
    assert "last board" in error["message"]


def test_the_default_status_must_be_an_open_status_of_that_board(
    client: TestClient, tenant: TenantFixture
) -> None:
    admin = tenant.admin
    board = first_board(client, admin)
    other = call(client, "POST", BOARDS, admin, {"name": "Projects"}, 201)
    path = f"{BOARDS}/{board['id']}"
    for status_id in (
        statuses(client, admin, board["id"])["Resolved"]["id"],
        statuses(client, admin, other["id"])["New"]["id"],
    ):
        response = client.patch(path, json={"default_status_id": status_id}, headers=admin.headers)
        assert_error(response, 422, "invalid", "default_status_id")
    assert call(client, "GET", path, admin) == board


def test_statuses_are_added_last_renamed_reordered_and_removed(
    client: TestClient, tenant: TenantFixture
) -> None:
    admin = tenant.admin
    board = first_board(client, admin)
    base = f"{BOARDS}/{board['id']}/statuses"
    held = call(client, "POST", base, admin, {"name": "On hold", "kind": "open"}, 201)
    assert held["position"] == 5
    assert held["board_id"] == board["id"]
    assert list(statuses(client, admin, board["id"]))[-1] == "On hold"

    moved = call(client, "PATCH", f"{base}/{held['id']}", admin, {"name": "Parked", "position": 0})
    assert (moved["name"], moved["position"]) == ("Parked", 0)
    assert list(statuses(client, admin, board["id"]))[:2] == ["New", "Parked"]
    assert call(client, "GET", f"{base}/{held['id']}", tenant.readonly) == moved

    duplicate = client.post(base, json={"name": "New", "kind": "open"}, headers=admin.headers)
    assert_error(duplicate, 409, "conflict", "name")

    call(client, "DELETE", f"{base}/{held['id']}", admin, status=204)
    assert "Parked" not in statuses(client, admin, board["id"])


def test_a_status_in_use_or_the_default_keeps_its_kind_and_stays(
    client: TestClient, tenant: TenantFixture
) -> None:
    admin = tenant.admin
    board = first_board(client, admin)
    own = statuses(client, admin, board["id"])
    base = f"{BOARDS}/{board['id']}/statuses"
    new_path, progress_path = f"{base}/{own['New']['id']}", f"{base}/{own['In progress']['id']}"

    assert_error(client.delete(new_path, headers=admin.headers), 409, "conflict")
    error = assert_error(
        client.patch(new_path, json={"kind": "closed"}, headers=admin.headers), 409, "conflict"
    )
    assert error["field"] == "kind"

    ticket = new_ticket(client, tenant.operator)
    call(
        client, "PATCH", f"{TICKETS}/{ticket['id']}", admin, {"status_id": own["In progress"]["id"]}
    )
    assert_error(client.delete(progress_path, headers=admin.headers), 409, "conflict")
    refused = client.patch(progress_path, json={"kind": "closed"}, headers=admin.headers)
    assert assert_error(refused, 409, "conflict")["field"] == "kind"
    assert statuses(client, admin, board["id"]) == own

    # Unused and not the default: its kind may change.
    waiting = call(client, "PATCH", f"{base}/{own['Waiting']['id']}", admin, {"kind": "closed"})
    assert waiting["kind"] == "closed"


def test_priorities_round_trip_and_a_deleted_one_leaves_its_tickets_without(
    client: TestClient, tenant: TenantFixture
) -> None:
    admin = tenant.admin
    someday = call(client, "POST", PRIORITIES, admin, {"name": "Someday"}, 201)
    names = [p["name"] for p in call(client, "GET", PRIORITIES, admin)["items"]]
    assert names == ["Urgent", "High", "Medium", "Low", "Someday"]

    path = f"{PRIORITIES}/{someday['id']}"
    renamed = call(client, "PATCH", path, admin, {"name": "Backlog"})
    assert renamed["name"] == "Backlog"
    assert call(client, "GET", path, tenant.readonly) == renamed
    # The pipeline picks priorities by name, ignoring case: names must differ in more.
    for taken in ("Urgent", "URGENT"):
        refused = client.patch(path, json={"name": taken}, headers=admin.headers)
        assert_error(refused, 409, "conflict", "name")
        refused = client.post(PRIORITIES, json={"name": taken}, headers=admin.headers)
        assert_error(refused, 409, "conflict", "name")

    ticket = new_ticket(client, tenant.operator, priority_id=someday["id"])
    assert ticket["priority_id"] == someday["id"]
    call(client, "DELETE", path, admin, status=204)
    assert call(client, "GET", f"{TICKETS}/{ticket['id']}", admin)["priority_id"] is None
    assert len(call(client, "GET", PRIORITIES, admin)["items"]) == 4


def test_a_ticket_round_trip_with_comments_and_time(
    client: TestClient, tenant: TenantFixture
) -> None:
    operator = tenant.operator
    client_id = new_client(client, tenant)
    urgent = call(client, "GET", PRIORITIES, operator)["items"][0]
    ticket = new_ticket(
        client,
        operator,
        title="  VPN   drops  ",
        client_id=client_id,
        priority_id=urgent["id"],
        assignee_id=str(operator.user_id),
    )
    assert ticket["title"] == "VPN drops"
    assert ticket["client_id"] == client_id
    assert ticket["priority_id"] == urgent["id"]
    assert ticket["assignee_id"] == str(operator.user_id)
    path = f"{TICKETS}/{ticket['id']}"

    changed = call(
        client,
        "PATCH",
        path,
        operator,
        {"title": "VPN drops at 5 pm", "description": "Since Monday", "assignee_id": None},
    )
    assert changed["title"] == "VPN drops at 5 pm"
    assert changed["description"] == "Since Monday"
    assert changed["assignee_id"] is None
    assert changed["priority_id"] == urgent["id"]  # not sent, not changed
    assert changed["updated_at"] > ticket["updated_at"]
    assert call(client, "GET", path, tenant.readonly) == changed

    first = call(client, "POST", f"{path}/comments", operator, {"body": "Asked for logs"}, 201)
    second = call(client, "POST", f"{path}/comments", tenant.admin, {"body": "Logs in"}, 201)
    assert (first["author_type"], first["author_id"]) == ("user", str(operator.user_id))
    listed = call(client, "GET", f"{path}/comments", tenant.readonly)
    assert [c["body"] for c in listed["items"]] == ["Asked for logs", "Logs in"]
    assert listed["items"][1] == second

    entry = call(
        client, "POST", f"{path}/time-entries", operator, {"minutes": 45, "note": "Remote"}, 201
    )
    assert (entry["minutes"], entry["note"], entry["user_id"]) == (
        45,
        "Remote",
        str(operator.user_id),
    )
    assert call(client, "GET", f"{path}/time-entries", tenant.readonly)["items"] == [entry]

    actions = {e["action"] for e in audit_entries(client, tenant.admin.headers)}
    assert {
        "ticket.create",
        "ticket.update",
        "ticket_comment.create",
        "time_entry.create",
    } <= actions


def test_closing_and_reopening_a_ticket_by_hand(client: TestClient, tenant: TenantFixture) -> None:
    operator = tenant.operator
    ticket = new_ticket(client, operator)
    own = statuses(client, operator, ticket["board_id"])
    path = f"{TICKETS}/{ticket['id']}"

    closed = call(client, "PATCH", path, operator, {"status_id": own["Resolved"]["id"]})
    assert closed["is_closed"] is True
    assert closed["closed_at"] is not None
    # Between closed statuses it stays closed, with the time it was closed.
    still = call(client, "PATCH", path, operator, {"status_id": own["Closed"]["id"]})
    assert (still["is_closed"], still["closed_at"]) == (True, closed["closed_at"])

    reopened = call(client, "PATCH", path, operator, {"status_id": own["In progress"]["id"]})
    assert (reopened["is_closed"], reopened["closed_at"]) == (False, None)
    bodies = [c["body"] for c in call(client, "GET", f"{path}/comments", operator)["items"]]
    assert bodies == [
        f"Closed by {operator.email} (api key): status Resolved.",
        f"Reopened by {operator.email} (api key): status In progress.",
    ]
    closes = audit_entries(client, tenant.admin.headers, action="ticket.close")
    assert [e["object_id"] for e in closes] == [ticket["id"]]


def test_tickets_list_newest_first_in_pages_and_by_filter(
    client: TestClient, tenant: TenantFixture
) -> None:
    operator, admin = tenant.operator, tenant.admin
    contoso, fabrikam = (
        new_client(client, tenant, "Contoso"),
        new_client(client, tenant, "Fabrikam"),
    )
    projects = call(client, "POST", BOARDS, admin, {"name": "Projects"}, 201)
    low = call(client, "GET", PRIORITIES, operator)["items"][-1]
    made = [
        new_ticket(client, operator, client_id=contoso),
        new_ticket(client, operator, client_id=fabrikam, priority_id=low["id"]),
        new_ticket(client, operator, board_id=projects["id"], assignee_id=str(admin.user_id)),
        new_ticket(client, operator, client_id=contoso),
        new_ticket(client, operator),
    ]
    by_number = {t["number"]: t for t in made}
    assert sorted(by_number) == [1, 2, 3, 4, 5]
    resolved = statuses(client, operator, made[0]["board_id"])["Resolved"]["id"]
    call(client, "PATCH", f"{TICKETS}/{by_number[4]['id']}", operator, {"status_id": resolved})

    seen, cursor = [], None
    while True:
        page = call(
            client,
            "GET",
            TICKETS,
            tenant.readonly,
            limit=2,
            **({"cursor": cursor} if cursor else {}),
        )
        seen.append([t["number"] for t in page["items"]])
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == [[5, 4], [3, 2], [1]]

    def numbers(**filters: Any) -> list[int]:
        return [t["number"] for t in call(client, "GET", TICKETS, operator, **filters)["items"]]

    assert numbers(client_id=contoso) == [4, 1]
    assert numbers(client_id=contoso, is_closed="false") == [1]
    assert numbers(is_closed="true") == [4]
    assert numbers(status_id=resolved) == [4]
    assert numbers(board_id=projects["id"]) == [3]
    assert numbers(priority_id=low["id"]) == [2]
    assert numbers(assignee_id=str(admin.user_id)) == [3]
    assert numbers(board_id=projects["id"], client_id=contoso) == []
