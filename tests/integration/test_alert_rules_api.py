"""/api/v1/alert-rules over HTTP, on both engines."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from fleetward.adapters.storage import schema
from fleetward.adapters.storage.database import SqlUnitOfWork
from fleetward.bootstrap import Container
from fleetward.domain.audit import verify_chain
from fleetward.services.ticket_defaults import ensure_defaults
from tests.conftest import TenantFixture
from tests.support.api import assert_error, audit_entries, cross_tenant_entries, error_shape, unique

RULES = "/api/v1/alert-rules"


def new_client(client: TestClient, tenant: TenantFixture) -> str:
    made = client.post(
        "/api/v1/clients", json={"name": unique("Client")}, headers=tenant.admin.headers
    )
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def new_integration(client: TestClient, tenant: TenantFixture, client_id: str) -> tuple[str, str]:
    settings = {"default_client_id": client_id}
    body = {"provider": "generic", "name": unique("Uptime"), "settings": settings}
    made = client.post("/api/v1/integrations", json=body, headers=tenant.admin.headers)
    assert made.status_code == 201, made.text
    return made.json()["id"], made.json()["webhook_secret"]


def trigger(**fields: Any) -> dict[str, Any]:
    """A generic trigger (docs/providers/generic.md), a new occurrence each time."""
    body: dict[str, Any] = {
        "kind": "triggered",
        "external_alert_id": uuid.uuid4().hex,
        "device": {"external_id": "shop.contoso.example", "name": "Contoso web shop"},
        "severity": "critical",
        "title": "Web shop is down",
        "message": "HTTPS check failed 3 times in a row",
        "occurred_at": datetime.now(UTC).isoformat(),
    }
    body.update(fields)
    return body


def new_rule(client: TestClient, tenant: TenantFixture, **body: Any) -> dict[str, Any]:
    made = client.post(RULES, json={"name": unique("Rule"), **body}, headers=tenant.admin.headers)
    assert made.status_code == 201, made.text
    result: dict[str, Any] = made.json()
    return result


def stored(container: Container, column: Any, tenant_id: uuid.UUID) -> list[Any]:
    """One column of a table's rows of the tenant, read straight from the database."""
    with container.db.engine.connect() as conn:
        query = select(column).where(column.table.c.tenant_id == tenant_id)
        return list(conn.execute(query).scalars())


def try_payload(
    client: TestClient, headers: dict[str, str], integration_id: str, payload: Any
) -> Any:
    return client.post(
        f"{RULES}/test",
        json={"integration_id": integration_id, "payload": payload},
        headers=headers,
    )


def test_rule_crud_round_trip_is_audited(
    client: TestClient, container: Container, tenant: TenantFixture
) -> None:
    h = tenant.admin.headers
    client_id = new_client(client, tenant)
    body = {
        "name": "  Critical   at Contoso ",
        "active": True,
        "conditions": {
            "severities": ["critical", "major"],
            "client_ids": [client_id],
            "keywords": ["down", "failed"],
            "message_pattern": r"HTTPS? check",
        },
        "actions": {
            "title_template": "[{{ severity|upper }}] {{ client }}: {{ title }}",
            "assignee_id": str(tenant.operator.user_id),
            "notify_user_ids": [str(tenant.admin.user_id)],
        },
    }
    created = client.post(RULES, json=body, headers=h)
    assert created.status_code == 201, created.text
    rule = created.json()
    assert rule["name"] == "Critical at Contoso"
    assert rule["position"] == 0
    assert rule["conditions"]["severities"] == ["critical", "major"]
    assert rule["conditions"]["alert_classes"] == []
    # Defaults of section 5 filled in.
    assert rule["actions"]["create_ticket"] is True
    assert rule["actions"]["reset_alert_on_ticket_close"] is True
    assert rule["actions"]["auto_resolve_ticket"] is False
    path = f"{RULES}/{rule['id']}"
    assert client.get(path, headers=tenant.readonly.headers).json() == rule

    # Conditions are replaced whole: keywords and pattern not sent are gone.
    patched = client.patch(
        path,
        json={"name": "Critical", "active": False, "conditions": {"severities": ["critical"]}},
        headers=h,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["conditions"]["keywords"] == []
    assert patched.json()["conditions"]["message_pattern"] is None
    assert patched.json()["active"] is False
    assert patched.json()["actions"] == rule["actions"]

    assert client.delete(path, headers=h).status_code == 204
    assert_error(client.get(path, headers=h), 404, "not_found")
    actions = [e["action"] for e in audit_entries(client, h, object_id=rule["id"])]
    assert actions == ["alert_rule.delete", "alert_rule.update", "alert_rule.create"]
    with SqlUnitOfWork(container.db).read() as repos:  # the entries hash the same read back
        assert verify_chain(repos.audit.chain(tenant.id)) is None
    update = audit_entries(client, h, action="alert_rule.update")[0]
    assert (
        update["before"]["name"] == "Critical at Contoso" and update["after"]["name"] == "Critical"
    )


def test_new_rules_go_last_and_the_list_is_in_evaluation_order(
    client: TestClient, tenant: TenantFixture
) -> None:
    names = [new_rule(client, tenant, name=f"Rule {i}")["name"] for i in range(5)]
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get(RULES, params=params, headers=tenant.readonly.headers).json()
        seen += page["items"]
        cursor = page["next"]
        if cursor is None:
            break
    assert [r["name"] for r in seen] == names
    assert [r["position"] for r in seen] == [0, 1, 2, 3, 4]


def test_reorder_changes_which_rule_wins(client: TestClient, tenant: TenantFixture) -> None:
    h = tenant.admin.headers
    integration_id, _ = new_integration(client, tenant, new_client(client, tenant))
    quiet = new_rule(client, tenant, name="Record only", actions={"create_ticket": False})
    loud = new_rule(client, tenant, name="Ticket")

    first = try_payload(client, h, integration_id, trigger()).json()["results"][0]
    assert first["result"] == "recorded"
    assert first["trace"]["rules"][0]["rule"] == "Record only"

    reordered = client.post(
        f"{RULES}/reorder", json={"rule_ids": [loud["id"], quiet["id"]]}, headers=h
    )
    assert reordered.status_code == 200, reordered.text
    listed = client.get(RULES, headers=h).json()["items"]
    assert reordered.json()["items"] == listed
    assert [(r["name"], r["position"]) for r in listed] == [("Ticket", 0), ("Record only", 1)]

    after = try_payload(client, h, integration_id, trigger()).json()["results"][0]
    assert after["result"] == "created"
    assert after["trace"]["rules"] == [
        {"rule_id": loud["id"], "rule": "Ticket", "result": "matched"}
    ]
    entry = audit_entries(client, h, action="alert_rule.reorder")[0]
    assert entry["after"] == {"rule_ids": [loud["id"], quiet["id"]]}


def test_reorder_must_name_exactly_your_rules(
    client: TestClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    h = tenant.admin.headers
    a, b = new_rule(client, tenant)["id"], new_rule(client, tenant)["id"]
    theirs = new_rule(client, other_tenant)["id"]
    reorder = f"{RULES}/reorder"
    for rule_ids in ([a], [a, b, b], [a, b, str(uuid.uuid4())], [], [b, a, a]):
        assert_error(
            client.post(reorder, json={"rule_ids": rule_ids}, headers=h), 422, "invalid", "rule_ids"
        )
    # Another tenant's rule is just not one of yours: answered like a random id.
    foreign = client.post(reorder, json={"rule_ids": [a, theirs]}, headers=h)
    random = client.post(reorder, json={"rule_ids": [a, str(uuid.uuid4())]}, headers=h)
    assert_error(foreign, 422, "invalid", "rule_ids")
    assert error_shape(foreign) == error_shape(random)
    assert [r["id"] for r in client.get(RULES, headers=h).json()["items"]] == [a, b]


@pytest.mark.parametrize("pattern", ["(a+)+$", "(x+x+)+y", "^(a|aa)+$"])
def test_backtracking_patterns_are_accepted_and_run_promptly(
    client: TestClient, tenant: TenantFixture, pattern: str
) -> None:
    h = tenant.admin.headers
    integration_id, _ = new_integration(client, tenant, new_client(client, tenant))
    new_rule(client, tenant, conditions={"message_pattern": pattern})
    answer = try_payload(client, h, integration_id, trigger(message="a" * 50_000 + "!"))
    assert answer.status_code == 200, answer.text
    assert answer.json()["results"][0]["result"] == "recorded"


HOSTILE = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{{ 1/0 }}",
    "{{ range(10**9)|list|length }}",
    "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
]


@pytest.mark.parametrize("source", HOSTILE)
def test_hostile_templates_never_reach_internals_or_fail_the_webhook(
    client: TestClient, container: Container, tenant: TenantFixture, source: str
) -> None:
    integration_id, secret = new_integration(client, tenant, new_client(client, tenant))
    saved = client.post(
        RULES,
        json={"name": "Evil", "actions": {"title_template": source}},
        headers=tenant.admin.headers,
    )
    if saved.status_code != 201:
        assert_error(saved, 422, "invalid", "actions.title_template")
        return
    hook = client.post(
        f"/api/v1/webhooks/{integration_id}", json=trigger(), headers={"X-Fleetward-Token": secret}
    )
    assert hook.status_code == 200, hook.text
    assert hook.json()["result"] == "created"
    # The ticket is opened with the default title, and the trace says why.
    assert stored(container, schema.ticket.c.title, tenant.id) == [
        "Contoso web shop: Web shop is down"
    ]
    assert stored(container, schema.alert.c.trace, tenant.id)[0]["template_errors"]


def test_ids_must_be_the_tenants_own(
    client: TestClient, container: Container, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    with SqlUnitOfWork(container.db).write() as repos:
        board = ensure_defaults(repos, other_tenant.id, lambda: datetime.now(UTC))
        closed = repos.statuses.of_board(other_tenant.id, board.id)[-1]
        priority = repos.priorities.by_name(other_tenant.id, "high")
    assert priority is not None
    theirs = {
        "client": new_client(client, other_tenant),
        "board": str(board.id),
        "priority": str(priority.id),
        "status": str(closed.id),
        "user": str(other_tenant.operator.user_id),
    }
    random = {key: str(uuid.uuid4()) for key in theirs}
    mine = new_client(client, tenant)
    cases: list[tuple[Callable[[dict[str, str]], dict[str, Any]], str]] = [
        (lambda i: {"conditions": {"client_ids": [mine, i["client"]]}}, "conditions.client_ids"),
        (lambda i: {"actions": {"board_id": i["board"]}}, "actions.board_id"),
        (lambda i: {"actions": {"priority_id": i["priority"]}}, "actions.priority_id"),
        (lambda i: {"actions": {"assignee_id": i["user"]}}, "actions.assignee_id"),
        (
            lambda i: {"actions": {"auto_resolve_status_id": i["status"]}},
            "actions.auto_resolve_status_id",
        ),
        (lambda i: {"actions": {"notify_user_ids": [i["user"]]}}, "actions.notify_user_ids"),
    ]
    h = tenant.admin.headers
    for body, field in cases:
        foreign = client.post(RULES, json={"name": "Steal", **body(theirs)}, headers=h)
        assert_error(foreign, 422, "invalid", field)
        # Answered exactly as a random id would be: nothing learnt about the other tenant.
        unknown = client.post(RULES, json={"name": "Steal", **body(random)}, headers=h)
        assert error_shape(foreign) == error_shape(unknown)
    assert client.get(RULES, headers=h).json()["items"] == []


def test_own_board_priority_and_closed_status_are_accepted(
    client: TestClient, container: Container, tenant: TenantFixture
) -> None:
    with SqlUnitOfWork(container.db).write() as repos:
        board = ensure_defaults(repos, tenant.id, lambda: datetime.now(UTC))
        statuses = repos.statuses.of_board(tenant.id, board.id)
        priority = repos.priorities.by_name(tenant.id, "urgent")
    assert priority is not None
    closed = next(s for s in statuses if s.kind.value == "closed")
    opened = next(s for s in statuses if s.kind.value == "open")
    actions: dict[str, Any] = {"board_id": str(board.id), "priority_id": str(priority.id)}
    actions |= {"auto_resolve_ticket": True, "auto_resolve_status_id": str(closed.id)}
    assert new_rule(client, tenant, actions=actions)["actions"] == {
        **new_rule(client, tenant)["actions"],
        **actions,
    }
    # Auto-resolve closes the ticket: an open status would contradict it.
    actions["auto_resolve_status_id"] = str(opened.id)
    refused = client.post(
        RULES, json={"name": "Half-closed", "actions": actions}, headers=tenant.admin.headers
    )
    assert_error(refused, 422, "invalid", "actions.auto_resolve_status_id")


BAD_BODIES = [
    ({"name": " "}, "name"),
    ({"priority": 1}, "priority"),
    ({"position": 0}, "position"),
    ({"conditions": {"severity": ["critical"]}}, "conditions.severity"),
    ({"conditions": {"severities": ["urgent"]}}, "conditions.severities.0"),
    ({"conditions": {"client_ids": ["not-an-id"]}}, "conditions.client_ids.0"),
    ({"conditions": {"keywords": ["nul \x00 inside"]}}, "conditions.keywords.0"),
    ({"conditions": {"message_pattern": "("}}, "conditions.message_pattern"),
    ({"conditions": {"message_pattern": "[z-a]"}}, "conditions.message_pattern"),
    ({"conditions": {"message_pattern": r"(a)\1"}}, "conditions.message_pattern"),
    ({"conditions": {"message_pattern": "x" * 1001}}, "conditions.message_pattern"),
    ({"actions": {"create_tickets": True}}, "actions.create_tickets"),
    ({"actions": {"create_ticket": "maybe"}}, "actions.create_ticket"),
    ({"actions": {"title_template": "esc \x1b[2J"}}, "actions.title_template"),
    ({"actions": {"title_template": "{{ unclosed"}}, "actions.title_template"),
    ({"actions": {"title_template": "{{ 2**10000000 }}"}}, "actions.title_template"),
    ({"actions": {"description_template": "{% if %}"}}, "actions.description_template"),
    (
        {"actions": {"description_template": "{{ x|no_such_filter }}"}},
        "actions.description_template",
    ),
    ({"actions": {"description_template": "x" * 4001}}, "actions.description_template"),
]


@pytest.mark.parametrize(("body", "field"), BAD_BODIES)
def test_bad_rules_are_refused_on_create_and_update_naming_the_field(
    client: TestClient, tenant: TenantFixture, body: dict[str, Any], field: str
) -> None:
    h = tenant.admin.headers
    assert_error(client.post(RULES, json={"name": "Bad", **body}, headers=h), 422, "invalid", field)
    rule = new_rule(client, tenant)
    patch = client.patch(f"{RULES}/{rule['id']}", json=body, headers=h)
    assert_error(patch, 422, "invalid", field)
    assert client.get(RULES, headers=h).json()["items"] == [rule]


def test_rules_are_settings_only_admins_change_them(
    client: TestClient, tenant: TenantFixture
) -> None:
    rule = new_rule(client, tenant)
    path = f"{RULES}/{rule['id']}"
    for actor in (tenant.operator, tenant.readonly):
        h = actor.headers
        assert client.get(RULES, headers=h).status_code == 200
        assert client.get(path, headers=h).json() == rule
        assert_error(client.post(RULES, json={"name": "Mine"}, headers=h), 403, "forbidden")
        assert_error(client.patch(path, json={"active": False}, headers=h), 403, "forbidden")
        assert_error(client.delete(path, headers=h), 403, "forbidden")
        assert_error(
            client.post(f"{RULES}/reorder", json={"rule_ids": [rule["id"]]}, headers=h),
            403,
            "forbidden",
        )
    assert client.get(RULES, headers=tenant.admin.headers).json()["items"] == [rule]


def test_another_tenants_rule_is_missing_and_the_attempt_audited(
    client: TestClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    rule = new_rule(client, tenant)
    path = f"{RULES}/{rule['id']}"
    intruder = other_tenant.admin.headers
    random_path = f"{RULES}/{uuid.uuid4()}"
    for method, body in (("GET", None), ("PATCH", {"name": "Mine"}), ("DELETE", None)):
        response = client.request(method, path, json=body, headers=intruder)
        assert_error(response, 404, "not_found")
        missing = client.request(method, random_path, json=body, headers=intruder)
        assert error_shape(response) == error_shape(missing)
    assert client.get(path, headers=tenant.admin.headers).json() == rule
    assert cross_tenant_entries(client, intruder) == []
    logged = cross_tenant_entries(client, tenant.admin.headers)
    assert [(e["object_type"], e["object_id"]) for e in logged] == [("alert_rule", rule["id"])] * 3


def test_testing_a_payload_stores_nothing(
    client: TestClient, container: Container, tenant: TenantFixture
) -> None:
    integration_id, _ = new_integration(client, tenant, new_client(client, tenant))
    new_rule(client, tenant, conditions={"severities": ["critical"]})
    answer = try_payload(client, tenant.readonly.headers, integration_id, trigger())
    assert answer.status_code == 200, answer.text
    (result,) = answer.json()["results"]
    assert result["kind"] == "triggered"
    assert result["result"] == "created"
    assert result["trace"]["ticket"] == "would open or re-trigger a ticket"
    # A reset follows its trigger's alert: rules do not route it.
    reset = trigger(kind="reset", series_key="uptime-1")
    (result,) = try_payload(client, tenant.admin.headers, integration_id, reset).json()["results"]
    assert (result["kind"], result["result"]) == ("reset", "ignored")
    for table in (schema.alert, schema.ticket, schema.asset, schema.dead_letter):
        assert stored(container, table.c.id, tenant.id) == [], table.name


def test_a_payload_the_provider_rejects_is_a_422_naming_its_field(
    client: TestClient, container: Container, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    integration_id, _ = new_integration(client, tenant, new_client(client, tenant))
    body = trigger()
    del body["title"]
    for payload, field in ((body, "title"), (trigger(severity="huge"), "severity")):
        response = try_payload(client, tenant.admin.headers, integration_id, payload)
        assert_error(response, 422, "invalid", field)
    # Unlike the webhook, a test keeps no dead letter.
    assert stored(container, schema.dead_letter.c.id, tenant.id) == []
    # Another tenant's integration is answered like an unknown one.
    theirs, _ = new_integration(client, other_tenant, new_client(client, other_tenant))
    foreign = try_payload(client, tenant.admin.headers, theirs, trigger())
    assert_error(foreign, 422, "invalid", "integration_id")
    random = try_payload(client, tenant.admin.headers, str(uuid.uuid4()), trigger())
    assert error_shape(foreign) == error_shape(random)
