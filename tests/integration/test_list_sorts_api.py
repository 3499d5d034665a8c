"""The lists' sort orders and totals through the REST API, on both engines.

The sort expressions differ by engine where they are not plain columns (lower(),
coalesce(), scalar subqueries); each order is walked page by page, so the keyset
over (sort value, id) is exercised too.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text

from fleetward.adapters.storage.database import Database
from fleetward.bootstrap import Container
from fleetward.domain.agents import AGENT_DEFAULT_SORT
from fleetward.domain.eventlog import WATCH_DEFAULT_SORT, WATCH_SORTS
from fleetward.domain.identity import Principal
from fleetward.domain.listing import parse_sort
from fleetward.domain.pagination import encode_cursor
from tests.conftest import TenantFixture
from tests.support.agents import enroll, event, make_site, make_token
from tests.support.api import assert_error
from tests.support.pages import api


def walk(client: TestClient, tenant: TenantFixture, path: str, **params: Any) -> list[Any]:
    """Every item of a list, two per page, in the order the pages give them."""
    items: list[Any] = []
    cursor = None
    while True:
        query = {**params, "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = api(client, tenant, "GET", path, params=query)
        items.extend(page["items"])
        cursor = page["next"]
        if cursor is None:
            return items


def test_tickets_sort_by_each_key_with_a_total(client: TestClient, tenant: TenantFixture) -> None:
    priorities = {
        p["name"]: p["id"] for p in api(client, tenant, "GET", "/api/v1/priorities")["items"]
    }
    made = [
        ("beta", "Low"),
        ("Alpha", "Urgent"),
        ("gamma", None),
        ("delta", "High"),
    ]
    for title, priority in made:
        body = {"title": title, "priority_id": priorities[priority] if priority else None}
        api(client, tenant, "POST", "/api/v1/tickets", json=body)
    numbers = {t["title"]: t["number"] for t in walk(client, tenant, "/api/v1/tickets")}
    assert list(numbers) == ["delta", "gamma", "Alpha", "beta"], "newest first by default"

    def titles(sort: str) -> list[str]:
        return [t["title"] for t in walk(client, tenant, "/api/v1/tickets", sort=sort)]

    # lower(title): "Alpha" sorts with the lower-case titles, not before them.
    assert titles("title") == ["Alpha", "beta", "delta", "gamma"]
    assert titles("-title") == ["gamma", "delta", "beta", "Alpha"]
    # The tenant's priority order, most urgent first; no priority after every one.
    assert titles("priority") == ["Alpha", "delta", "beta", "gamma"]
    assert titles("-priority") == ["gamma", "beta", "delta", "Alpha"]
    assert titles("number") == ["beta", "Alpha", "gamma", "delta"]
    assert titles("created_at") == ["beta", "Alpha", "gamma", "delta"]

    # A ticket moved on in its workflow sorts after the new ones.
    board = api(client, tenant, "GET", "/api/v1/boards")["items"][0]
    statuses = api(client, tenant, "GET", f"/api/v1/boards/{board['id']}/statuses")["items"]
    progress = next(s for s in statuses if s["name"] == "In progress")
    gamma = next(t for t in walk(client, tenant, "/api/v1/tickets") if t["title"] == "gamma")
    api(
        client,
        tenant,
        "PATCH",
        f"/api/v1/tickets/{gamma['id']}",
        json={"status_id": progress["id"]},
    )
    assert titles("status")[-1] == "gamma"
    assert titles("-updated_at")[0] == "gamma"

    first = api(client, tenant, "GET", "/api/v1/tickets", params={"sort": "title", "limit": 1})
    assert first["total"] == 4
    urgent = api(
        client, tenant, "GET", "/api/v1/tickets", params={"priority_id": priorities["Urgent"]}
    )
    assert urgent["total"] == 1

    refused = client.get("/api/v1/tickets?sort=colour", headers=tenant.admin.headers)
    assert_error(refused, 422, field="sort")
    other_order = client.get(
        "/api/v1/tickets",
        params={"sort": "-title", "cursor": first["next"]},
        headers=tenant.admin.headers,
    )
    assert_error(other_order, 422, field="cursor")


def test_clients_sort_by_name_in_any_case_and_filter_by_part_of_it(
    client: TestClient, tenant: TenantFixture
) -> None:
    for name in ("contoso", "Initech", "ACME 100%", "globex"):
        api(client, tenant, "POST", "/api/v1/clients", json={"name": name})

    def names(**params: Any) -> list[str]:
        return [c["name"] for c in walk(client, tenant, "/api/v1/clients", **params)]

    assert names() == ["contoso", "Initech", "ACME 100%", "globex"], "made order by default"
    assert names(sort="name") == ["ACME 100%", "contoso", "globex", "Initech"]
    assert names(sort="-name") == ["Initech", "globex", "contoso", "ACME 100%"]
    assert names(sort="-created_at") == ["globex", "ACME 100%", "Initech", "contoso"]
    # Any case; % and _ are the characters typed, not wildcards.
    assert names(name="O", sort="name") == ["contoso", "globex"]
    assert names(name="0%") == ["ACME 100%"]
    assert names(name="%") == ["ACME 100%"]
    assert names(name="_") == []
    page = api(client, tenant, "GET", "/api/v1/clients", params={"limit": 1, "name": "o"})
    assert page["total"] == 2 and len(page["items"]) == 1
    refused = client.get("/api/v1/clients?sort=notes", headers=tenant.admin.headers)
    assert_error(refused, 422, field="sort")


def test_migrations_make_the_clients_name_index(database_url: str) -> None:
    # Alembic cannot compare expression indexes, so the schema test does not see it.
    db = Database(database_url)
    try:
        with db.engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                found = "SELECT name FROM sqlite_master WHERE type = 'index'"
            else:
                found = "SELECT indexname FROM pg_indexes"
            names = set(conn.execute(text(found)).scalars())
    finally:
        db.dispose()
    assert "ix_client_tenant_id_lower_name" in names


def test_agents_sort_by_site_and_last_seen_and_count_each_state(
    client: TestClient, tenant: TenantFixture, container: Container
) -> None:
    """Through GET /api/v1/agents, which the dashboard's list shares its storage with."""
    h = tenant.admin.headers
    sites = {}
    for client_name, site_name in (("Beta", "Annex"), ("alpha", "HQ"), ("Beta", "Depot")):
        found = api(client, tenant, "GET", "/api/v1/clients", params={"name": client_name})
        client_id = (
            found["items"][0]["id"]
            if found["items"]
            else api(client, tenant, "POST", "/api/v1/clients", json={"name": client_name})["id"]
        )
        site = client.post(
            f"/api/v1/clients/{client_id}/sites", json={"name": site_name}, headers=h
        )
        sites[f"{client_name} / {site_name}"] = site.json()["id"]
    now = datetime.now(UTC)
    agents = {}
    for hostname, site, seen in (
        ("web-02", "Beta / Depot", now - timedelta(minutes=1)),
        ("Alpha", "alpha / HQ", None),
        ("db-01", "Beta / Annex", now - timedelta(hours=2)),
        ("gone", "Beta / Annex", now),
    ):
        token = make_token(client, tenant, sites[site])["token"]
        answer = enroll(client, token, hostname)
        agents[hostname] = uuid.UUID(answer.json()["agent_id"])
        with container.agents.uow.write() as repos:
            repos.agents.update(tenant.id, agents[hostname], last_seen_at=seen)
    api(client, tenant, "POST", f"/api/v1/agents/{agents['gone']}/revoke")
    admin = tenant.admin
    who = Principal(tenant.id, admin.user_id, admin.email, admin.role)

    def hostnames(sort: str, state: str | None = None, **more: str) -> list[str]:
        shown: list[str] = []
        params = {"sort": sort, "limit": 2, **({"state": state} if state else {}), **more}
        while True:
            page = api(client, tenant, "GET", "/api/v1/agents", params=params)
            shown.extend(a["hostname"] for a in page["items"])
            if page["next"] is None:
                return shown
            params["cursor"] = page["next"]

    assert hostnames("hostname") == ["Alpha", "db-01", "gone", "web-02"]
    # Client, then site, in any case.
    assert hostnames("site") == ["Alpha", "db-01", "gone", "web-02"]
    assert hostnames("-site")[0] == "web-02"
    # Never seen: as if seen longest ago.
    assert hostnames("-last_seen_at") == ["gone", "web-02", "db-01", "Alpha"]
    assert hostnames("hostname", "online") == ["web-02"]
    assert hostnames("hostname", "offline") == ["Alpha", "db-01"]
    assert hostnames("-hostname", "revoked") == ["gone"]
    # One client's sites only; the API's default order is still enrolment order.
    beta = api(client, tenant, "GET", "/api/v1/clients", params={"name": "Beta"})["items"][0]
    assert hostnames("hostname", client_id=beta["id"]) == ["db-01", "gone", "web-02"]
    enrolled = api(client, tenant, "GET", "/api/v1/agents")
    assert [a["hostname"] for a in enrolled["items"]] == ["web-02", "Alpha", "db-01", "gone"]
    assert enrolled["total"] == 4
    refused = client.get("/api/v1/agents", params={"sort": "colour"}, headers=h)
    assert refused.status_code == 422 and refused.json()["error"]["field"] == "sort"
    assert client.get(f"/api/v1/agents?client_id={uuid.uuid4()}", headers=h).status_code == 404
    page, counts = container.agents.list_agents(who, 1, None, AGENT_DEFAULT_SORT, "offline")
    assert counts == {"online": 1, "offline": 2, "revoked": 1}
    assert page.total == 2


def test_watch_rules_sort_by_name_log_severity_and_state(
    client: TestClient, tenant: TenantFixture, container: Container
) -> None:
    for name, log, severity, enabled in (
        ("failed logons", "Security", "major", True),
        ("Disk errors", "System", "critical", False),
        ("app crashes", "application", "minor", True),
    ):
        body = {
            "name": name,
            "scope": {"type": "tenant"},
            "log_name": log,
            "alert_severity": severity,
            "enabled": enabled,
        }
        api(client, tenant, "POST", "/api/v1/event-log-watches", json=body)
    admin = tenant.admin
    who = Principal(tenant.id, admin.user_id, admin.email, admin.role)

    def names(sort: str, enabled: bool | None = None) -> list[str]:
        order = parse_sort(sort, WATCH_SORTS, WATCH_DEFAULT_SORT)
        shown: list[str] = []
        cursor = None
        while True:
            page = container.watches.listed(who, 2, cursor, order, enabled)
            shown.extend(w.rule.name for w in page.items)
            cursor = page.next
            if cursor is None:
                return shown

    assert names("name") == ["app crashes", "Disk errors", "failed logons"]
    assert names("log_name") == ["app crashes", "failed logons", "Disk errors"]
    assert names("-severity") == ["Disk errors", "failed logons", "app crashes"]
    assert names("enabled")[0] == "Disk errors"
    assert names("-enabled")[-1] == "Disk errors"
    assert names("name", enabled=False) == ["Disk errors"]
    assert container.watches.listed(who, 1, None, WATCH_DEFAULT_SORT, True).total == 2


def test_the_timeline_reads_oldest_first_page_by_page(
    client: TestClient, tenant: TenantFixture
) -> None:
    site_id = make_site(client, tenant)
    token = make_token(client, tenant, site_id)["token"]
    key = enroll(client, token, "WS-T").json()["agent_key"]
    batch = [event(i) for i in (3, 0, 4, 1, 2)]
    sent = client.post(
        "/api/v1/agent/events", json={"events": batch}, headers={"Authorization": f"Bearer {key}"}
    )
    assert sent.status_code == 200, sent.text
    oldest = [e["at"] for e in walk(client, tenant, "/api/v1/timeline", sort="at")]
    assert oldest == sorted(oldest) and len(oldest) == 5
    newest = [e["at"] for e in walk(client, tenant, "/api/v1/timeline")]
    assert newest == oldest[::-1]
    first = api(client, tenant, "GET", "/api/v1/timeline", params={"sort": "at", "limit": 2})
    other_order = client.get(
        "/api/v1/timeline", params={"cursor": first["next"]}, headers=tenant.admin.headers
    )
    assert_error(other_order, 422, field="cursor")
    # A row number past 64 bits is refused, not handed to the database.
    forged = encode_cursor("-at", "2026-01-01T00:00:00+00:00", 2**70)
    too_big = client.get(
        "/api/v1/timeline", params={"cursor": forged}, headers=tenant.admin.headers
    )
    assert_error(too_big, 422, field="cursor")
