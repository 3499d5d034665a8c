"""GET /api/v1/search on both engines: LIKE differs (case, escaping), so the storage
queries run on SQLite and PostgreSQL alike."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import Actor, TenantFixture
from tests.integration.test_tickets_api import new_ticket
from tests.support.agents import enroll, make_site, make_token
from tests.support.pages import trigger
from tests.support.pipeline import make_client, make_integration, post

SEARCH = "/api/v1/search"


def search(client: TestClient, actor: Actor, q: str, **params: Any) -> dict[str, Any]:
    answer = client.get(SEARCH, params={"q": q, **params}, headers=actor.headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def kinds(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {found["kind"]: found for found in body["kinds"]}


def labels(body: dict[str, Any], kind: str) -> list[str]:
    return [hit["label"] for hit in kinds(body)[kind]["items"]]


def test_one_query_finds_each_kind_whatever_the_case(
    client: TestClient, tenant: TenantFixture
) -> None:
    make_client(client, tenant, "Zebra Logistics")
    ticket = new_ticket(client, tenant.admin, title="Printer at ZEBRA reception jams")
    integration = make_integration(client, tenant, "generic")
    sent = post(
        client,
        integration,
        trigger("z1", title="Disk full", device={"external_id": "dev-9", "name": "zebra-srv-01"}),
    )
    assert sent.status_code == 200, sent.text
    site_id = make_site(client, tenant)
    assert (
        enroll(client, make_token(client, tenant, site_id)["token"], "ZEBRA-WS-7").status_code
        == 201
    )
    make_client(client, tenant, "Unrelated Ltd")

    body = search(client, tenant.readonly, "zEbRa")

    assert [found["kind"] for found in body["kinds"]] == [
        "tickets",
        "alerts",
        "devices",
        "clients",
        "agents",
    ]
    assert labels(body, "tickets") == [f"#{ticket['number']} Printer at ZEBRA reception jams"]
    assert labels(body, "alerts") == ["Disk full"]  # by its device's name
    assert labels(body, "devices") == ["zebra-srv-01"]
    assert labels(body, "clients") == ["Zebra Logistics"]
    assert labels(body, "agents") == ["ZEBRA-WS-7"]
    assert all(found["total"] == 1 and not found["more"] for found in body["kinds"])
    assert kinds(body)["tickets"]["items"][0]["url"] == f"/tickets/{ticket['id']}"
    # A device is found by its external id too, and its alerts with it.
    by_id = search(client, tenant.readonly, "DEV-9")
    assert labels(by_id, "devices") == ["zebra-srv-01"]
    assert labels(by_id, "alerts") == ["Disk full"]


def test_percent_underscore_and_backslash_match_themselves(
    client: TestClient, tenant: TenantFixture
) -> None:
    for name in ("100% done", "100 percent", "a_b corp", "axb corp", "back\\slash", "backslash"):
        make_client(client, tenant, name)

    assert labels(search(client, tenant.admin, "100%"), "clients") == ["100% done"]
    assert labels(search(client, tenant.admin, "a_b"), "clients") == ["a_b corp"]
    assert labels(search(client, tenant.admin, "k\\s"), "clients") == ["back\\slash"]
    assert labels(search(client, tenant.admin, "%"), "clients") == ["100% done"]


def test_a_ticket_number_finds_that_ticket_first(client: TestClient, tenant: TenantFixture) -> None:
    first = new_ticket(client, tenant.admin, title="Laptop battery")
    numbered = new_ticket(client, tenant.admin, title="Router reboot")
    # A later ticket whose title holds the number is listed after the numbered one.
    new_ticket(client, tenant.admin, title=f"Follow-up of {numbered['number']}")

    # "7" is a number or text in a title; "#7" means the ticket alone.
    for q, total in ((str(numbered["number"]), 2), (f"#{numbered['number']}", 1)):
        body = search(client, tenant.admin, q)
        assert body["ticket"]["id"] == numbered["id"]
        assert labels(body, "tickets")[0] == f"#{numbered['number']} Router reboot"
        assert kinds(body)["tickets"]["total"] == total
    assert search(client, tenant.admin, "#999999")["ticket"] is None
    assert first["number"] != numbered["number"]


def test_another_tenants_objects_are_never_found(
    client: TestClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    make_client(client, other_tenant, "Quokka Foods")
    theirs = new_ticket(client, other_tenant.admin, title="Quokka printer")

    body = search(client, tenant.admin, "quokka")
    assert all(found["total"] == 0 and not found["items"] for found in body["kinds"])
    assert search(client, tenant.admin, f"#{theirs['number']}")["ticket"] is None
    assert labels(search(client, other_tenant.admin, "quokka"), "clients") == ["Quokka Foods"]


def test_hits_are_bounded_per_kind_and_counted(client: TestClient, tenant: TenantFixture) -> None:
    for i in range(12):
        make_client(client, tenant, f"Walrus {i:02d}")

    body = search(client, tenant.admin, "walrus")
    assert len(labels(body, "clients")) == 10
    assert kinds(body)["clients"]["total"] == 12
    only = search(client, tenant.admin, "walrus", kind="clients", limit=100)
    assert [found["kind"] for found in only["kinds"]] == ["clients"]
    assert labels(only, "clients") == [f"Walrus {i:02d}" for i in range(12)]


def test_the_query_is_trimmed_and_bounded(client: TestClient, tenant: TenantFixture) -> None:
    make_client(client, tenant, "Narwhal Inc")
    assert search(client, tenant.admin, "   narwhal  ")["q"] == "narwhal"
    assert labels(search(client, tenant.admin, "  narwhal "), "clients") == ["Narwhal Inc"]
    assert search(client, tenant.admin, "x" * 100)["q"] == "x" * 100

    bad = (
        ("", {}),
        ("   ", {}),
        ("x" * 101, {}),
        ("a\x00b", {}),  # PostgreSQL refuses NUL in text: a 422, not a 500
        ("a\x07b", {}),
        ("ok", {"kind": "people"}),
    )
    for q, params in bad:
        answer = client.get(SEARCH, params={"q": q, **params}, headers=tenant.admin.headers)
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"]["field"] == ("kind" if params else "q")
    assert client.get(SEARCH, params={"q": "narwhal"}).status_code == 401
