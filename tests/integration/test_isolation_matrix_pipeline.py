"""The isolation and role matrix for the alert pipeline's routes (see tests/support/matrix.py).

Integrations with their mappings, assets and dead letters; alerts; alert rules;
maintenance windows; boards with their statuses; priorities; tickets with their
comments and time entries. Settings (integrations, mappings, rules, windows,
boards, statuses, priorities) are the admin's to change; operational data
(tickets and the work on them, assigning an asset, replaying a dead letter) the
operator's too; every role reads. Alerts, assets and dead letters come from the
webhook, as in production: a trigger makes an alert and its device's asset, a
truncated body a dead letter.

The webhook itself takes the integration's secret, not an API key: it is kept
out of the matrix (OUTSIDE_THE_MATRIX in test_isolation_matrix.py) and tested
in test_webhook_intake.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient

from fleetward.bootstrap import Container, build
from fleetward.config import Settings
from fleetward.domain.identity import Access
from tests.conftest import FAST_PASSWORDS, Actor, TenantFixture
from tests.support.api import assert_error, cross_tenant_entries, unique
from tests.support.fake_provider_api import QuietProviders
from tests.support.matrix import (
    Refs,
    Route,
    Target,
    World,
    check_resource,
    collection_ids,
    items,
    resources,
)
from tests.support.pipeline import sample

INTEGRATIONS = "/api/v1/integrations"
INTEGRATION = INTEGRATIONS + "/{integration_id}"
MAPPINGS = INTEGRATION + "/mappings"
ASSETS = INTEGRATION + "/assets"
LETTERS = INTEGRATION + "/dead-letters"
SYNC_RUNS = INTEGRATION + "/sync-runs"
ALERTS = "/api/v1/alerts"
RULES = "/api/v1/alert-rules"
WINDOWS = "/api/v1/maintenance-windows"
BOARDS = "/api/v1/boards"
BOARD = BOARDS + "/{board_id}"
STATUSES = BOARD + "/statuses"
PRIORITIES = "/api/v1/priorities"
TICKETS = "/api/v1/tickets"
TICKET = TICKETS + "/{ticket_id}"
SUBSCRIPTIONS = "/api/v1/webhook-subscriptions"
SUBSCRIPTION = SUBSCRIPTIONS + "/{subscription_id}"
DELIVERIES = SUBSCRIPTION + "/deliveries"


# Integrations, and what hangs off them


def _stored_secret(world: World, integration_id: str) -> str | None:
    """The sealed webhook secret as stored: a refused rotation must leave it."""
    with world.container.pipeline.uow.read() as repos:
        found = repos.integrations.for_webhook(uuid.UUID(integration_id))
    return None if found is None else str(found[1])


def _integration(world: World) -> dict[str, Any]:
    return world.owner_post(INTEGRATIONS, new_integration())


def _client_id(world: World) -> str:
    return str(world.owner_post("/api/v1/clients", {"name": unique("Client")})["id"])


def _webhook(world: World, integration: dict[str, Any], body: bytes) -> httpx.Response:
    path = urlsplit(integration["webhook_url"]).path
    headers = {"X-Fleetward-Token": integration["webhook_secret"]}
    response: httpx.Response = world.client.post(path, content=body, headers=headers)
    return response


def _trigger() -> dict[str, Any]:
    body = sample("generic", "trigger")
    series = unique("series").replace(" ", "-")
    body.update(external_alert_id=f"{series}-1", series_key=series)
    return body


def _alert_id(world: World, integration: dict[str, Any]) -> str:
    answer = _webhook(world, integration, orjson.dumps(_trigger()))
    assert answer.status_code == 200, answer.text
    return str(answer.json()["alert_id"])


def _under(path: str, integration_id: str) -> str:
    return path.format(integration_id=integration_id)


def integration_target(world: World, actor: Actor) -> Target:
    iid = _integration(world)["id"]
    return Target(
        {"integration_id": iid},
        iid,
        iid,
        lambda: (
            world.owner_get(_under(INTEGRATION, iid)),
            collection_ids(world, INTEGRATIONS),
            _stored_secret(world, iid),
        ),
    )


def mapping_target(world: World, actor: Actor) -> Target:
    iid = _integration(world)["id"]
    client_id = _client_id(world)
    mapping = world.owner_post(_under(MAPPINGS, iid), new_mapping({"client_id": client_id}))
    return Target(
        {"integration_id": iid, "mapping_id": mapping["id"]},
        mapping["id"],
        iid,
        lambda: (world.owner_get(_under(INTEGRATION, iid)), items(world, _under(MAPPINGS, iid))),
        lambda: {"client_id": client_id},
    )


def asset_target(world: World, actor: Actor) -> Target:
    """A device seen in a trigger, and a client of the owner's to assign it to."""
    integration = _integration(world)
    iid = integration["id"]
    _alert_id(world, integration)
    (asset,) = items(world, _under(ASSETS, iid))
    client_id = _client_id(world)
    return Target(
        {"integration_id": iid, "asset_id": asset["id"]},
        asset["id"],
        iid,
        lambda: (world.owner_get(_under(INTEGRATION, iid)), items(world, _under(ASSETS, iid))),
        lambda: {"client_id": client_id},
    )


def letter_target(world: World, actor: Actor) -> Target:
    """A body the webhook refused: truncated JSON is kept as a dead letter."""
    integration = _integration(world)
    iid = integration["id"]
    refused = _webhook(world, integration, orjson.dumps(_trigger())[:-10])
    assert refused.status_code == 400, refused.text
    (letter,) = items(world, _under(LETTERS, iid))
    return Target(
        {"integration_id": iid, "letter_id": letter["id"]},
        letter["id"],
        iid,
        lambda: (world.owner_get(_under(INTEGRATION, iid)), items(world, _under(LETTERS, iid))),
    )


def new_integration() -> dict[str, Any]:
    return {"provider": "generic", "name": unique("Integration"), "settings": {}}


def new_mapping(refs: Refs) -> dict[str, Any]:
    return {"external_org_id": unique("org"), "client_id": refs["client_id"]}


def expect_new_secret(target: Target, response: httpx.Response) -> None:
    assert response.json()["webhook_secret"].startswith("fwh_")


def expect_replayed(target: Target, response: httpx.Response) -> None:
    answer = response.json()
    assert answer["dead_letter"]["id"] == target.id
    assert answer["result"] == "failed"  # still truncated


# Webhook subscriptions and their deliveries


def new_subscription() -> dict[str, Any]:
    return {"url": "https://hooks.example.com/fleetward", "events": ["*"]}


def _stored_subscription_secret(world: World, subscription_id: str) -> str | None:
    with world.container.pipeline.uow.read() as repos:
        return repos.webhook_subscriptions.sealed_secret(world.owner.id, uuid.UUID(subscription_id))


def subscription_target(world: World, actor: Actor) -> Target:
    sid = world.owner_post(SUBSCRIPTIONS, new_subscription())["id"]
    return Target(
        {"subscription_id": sid},
        sid,
        sid,
        lambda: (
            world.owner_get(SUBSCRIPTION.format(subscription_id=sid)),
            collection_ids(world, SUBSCRIPTIONS),
            _stored_subscription_secret(world, sid),
        ),
    )


def delivery_target(world: World, actor: Actor) -> Target:
    """A delivery of an alert.triggered event (dispatched, not sent)."""
    sid = world.owner_post(SUBSCRIPTIONS, new_subscription())["id"]
    _alert_id(world, _integration(world))
    world.container.subscriptions.dispatch()
    log = DELIVERIES.format(subscription_id=sid)
    delivery = items(world, log)[0]
    return Target(
        {"subscription_id": sid, "delivery_id": delivery["id"]},
        delivery["id"],
        sid,
        lambda: (world.owner_get(SUBSCRIPTION.format(subscription_id=sid)), items(world, log)),
    )


def expect_new_signing_secret(target: Target, response: httpx.Response) -> None:
    assert response.json()["secret"].startswith("fws_")


def expect_delivery_replayed(target: Target, response: httpx.Response) -> None:
    assert (response.json()["id"], response.json()["status"]) == (target.id, "pending")


def sync_target(world: World, actor: Actor) -> Target:
    """A NinjaOne integration whose provider (a fake API) reports nothing active."""
    iid = world.owner_post(INTEGRATIONS, {**new_integration(), "provider": "ninjaone"})["id"]
    return Target(
        {"integration_id": iid},
        iid,
        iid,
        lambda: (world.owner_get(_under(INTEGRATION, iid)), items(world, _under(SYNC_RUNS, iid))),
    )


def run_target(world: World, actor: Actor) -> Target:
    """A finished sync run of the owner's."""
    target = sync_target(world, actor)
    iid = target.params["integration_id"]
    run = world.call("POST", f"{_under(INTEGRATION, iid)}/sync", world.owner.admin.headers)
    assert run.status_code == 200, run.text
    return Target(
        {"integration_id": iid, "run_id": run.json()["id"]},
        run.json()["id"],
        iid,
        target.snapshot,
    )


def expect_synced(target: Target, response: httpx.Response) -> None:
    run = response.json()
    assert run["integration_id"] == target.id and run["status"] == "succeeded"


# Alerts, rules and maintenance windows


def alert_target(world: World, actor: Actor) -> Target:
    alert_id = _alert_id(world, _integration(world))
    return Target(
        {"alert_id": alert_id},
        alert_id,
        alert_id,
        lambda: (world.owner_get(f"{ALERTS}/{alert_id}"), collection_ids(world, ALERTS)),
    )


def client_alert_target(world: World, actor: Actor) -> Target:
    """An alert with a client (the integration's default) and no ticket: a window of
    its integration covers the sample's time, so whatever rules exist, none applies."""
    settings = {"default_client_id": _client_id(world)}
    integration = world.owner_post(INTEGRATIONS, {**new_integration(), "settings": settings})
    window = {
        "name": unique("Window"),
        "starts_at": "2024-05-01T00:00:00Z",
        "ends_at": "2024-05-02T00:00:00Z",
        "integration_id": integration["id"],
    }
    world.owner_post(WINDOWS, window)
    alert_id = _alert_id(world, integration)
    return Target(
        {"alert_id": alert_id},
        alert_id,
        alert_id,
        lambda: (
            world.owner_get(f"{ALERTS}/{alert_id}"),
            collection_ids(world, ALERTS),
            items(world, TICKETS),
        ),
    )


def asset_history_target(world: World, actor: Actor) -> Target:
    """A device's alerts: the asset itself is what the tenant check trips on."""
    asset = asset_target(world, actor)
    return Target({"asset_id": asset.id}, asset.id, asset.id, asset.snapshot)


def expect_alert(target: Target, response: httpx.Response) -> None:
    assert response.json()["id"] == target.id


def expect_no_calls(target: Target, response: httpx.Response) -> None:
    assert response.json()["items"] == []  # a generic sender has no API to call


def expect_per_id(target: Target, response: httpx.Response) -> None:
    assert [item["result"] for item in response.json()["items"]] == ["not_found"]


def _rule_order(world: World) -> list[str]:
    return [rule["id"] for rule in items(world, RULES)]


def rule_target(world: World, actor: Actor) -> Target:
    """A new rule, last; reordering names the owner's rules, last first."""
    rule_id = world.owner_post(RULES, new_rule())["id"]
    return Target(
        {"rule_id": rule_id},
        rule_id,
        rule_id,
        lambda: (world.owner_get(f"{RULES}/{rule_id}"), _rule_order(world)),
        lambda: {"rule_ids": _rule_order(world)[::-1]},
    )


def trial_target(world: World, actor: Actor) -> Target:
    """An integration whose triggers a catch-all rule makes tickets of, to try rules on.

    A trial stores nothing: no alert, asset, dead letter or ticket.
    """
    settings = {"default_client_id": _client_id(world)}
    iid = world.owner_post(INTEGRATIONS, {**new_integration(), "settings": settings})["id"]
    world.owner_post(RULES, new_rule())
    return Target(
        {},
        iid,
        iid,
        lambda: (
            world.owner_get(_under(INTEGRATION, iid)),
            _rule_order(world),
            items(world, f"{ALERTS}?integration_id={iid}"),
            items(world, _under(ASSETS, iid)),
            items(world, _under(LETTERS, iid)),
            collection_ids(world, TICKETS),
        ),
        lambda: {"integration_id": iid},
    )


def new_rule() -> dict[str, Any]:
    return {"name": unique("Rule")}


def trial(refs: Refs) -> dict[str, Any]:
    return {"integration_id": refs["integration_id"], "payload": _trigger()}


def expect_reordered(target: Target, response: httpx.Response) -> None:
    shown = [rule["id"] for rule in response.json()["items"]]
    assert shown[0] == target.id  # made last, now first
    assert target.snapshot()[1] == shown


def expect_trial(target: Target, response: httpx.Response) -> None:
    (result,) = response.json()["results"]
    assert (result["kind"], result["result"]) == ("triggered", "created")
    _, _, *stored = target.snapshot()
    assert stored == [[], [], [], []]


def window_target(world: World, actor: Actor) -> Target:
    window_id = world.owner_post(WINDOWS, new_window())["id"]
    return Target(
        {"window_id": window_id},
        window_id,
        window_id,
        lambda: (world.owner_get(f"{WINDOWS}/{window_id}"), collection_ids(world, WINDOWS)),
    )


def new_window() -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "name": unique("Window"),
        "starts_at": (now - timedelta(hours=1)).isoformat(),
        "ends_at": (now + timedelta(hours=1)).isoformat(),
    }


def expect_active(target: Target, response: httpx.Response) -> None:
    assert response.json() == {"active": True}


# Ticket settings: boards, their statuses, priorities


def board_target(world: World, actor: Actor) -> Target:
    board_id = world.owner_post(BOARDS, new_board())["id"]
    return Target(
        {"board_id": board_id},
        board_id,
        board_id,
        lambda: (world.owner_get(f"{BOARDS}/{board_id}"), collection_ids(world, BOARDS)),
    )


def status_target(world: World, actor: Actor) -> Target:
    board_id = world.owner_post(BOARDS, new_board())["id"]
    statuses = STATUSES.format(board_id=board_id)
    status_id = world.owner_post(statuses, new_status())["id"]
    return Target(
        {"board_id": board_id, "status_id": status_id},
        status_id,
        board_id,
        lambda: (world.owner_get(f"{statuses}/{status_id}"), items(world, statuses)),
    )


def priority_target(world: World, actor: Actor) -> Target:
    priority_id = world.owner_post(PRIORITIES, new_priority())["id"]
    return Target(
        {"priority_id": priority_id},
        priority_id,
        priority_id,
        lambda: (
            world.owner_get(f"{PRIORITIES}/{priority_id}"),
            collection_ids(world, PRIORITIES),
        ),
    )


def new_board() -> dict[str, Any]:
    return {"name": unique("Board")}


def new_status() -> dict[str, Any]:
    return {"name": unique("Status"), "kind": "open"}


def new_priority() -> dict[str, Any]:
    return {"name": unique("Priority")}


# Tickets, and the work on them


def _ticket_id(world: World) -> str:
    return str(world.owner_post(TICKETS, new_ticket())["id"])


def ticket_target(world: World, actor: Actor) -> Target:
    ticket_id = _ticket_id(world)
    return Target(
        {"ticket_id": ticket_id},
        ticket_id,
        ticket_id,
        lambda: (world.owner_get(f"{TICKETS}/{ticket_id}"), collection_ids(world, TICKETS)),
    )


def _work_target(world: World, kind: str, body: dict[str, Any]) -> Target:
    """A comment or a time entry on a ticket; the ticket's updated_at shows new work."""
    ticket_id = _ticket_id(world)
    path = f"{TICKETS}/{ticket_id}/{kind}"
    work_id = world.owner_post(path, body)["id"]
    return Target(
        {"ticket_id": ticket_id},
        work_id,
        ticket_id,
        lambda: (world.owner_get(f"{TICKETS}/{ticket_id}"), items(world, path)),
    )


def comment_target(world: World, actor: Actor) -> Target:
    return _work_target(world, "comments", new_comment())


def time_entry_target(world: World, actor: Actor) -> Target:
    return _work_target(world, "time-entries", new_time_entry())


def new_ticket() -> dict[str, Any]:
    return {"title": unique("Ticket")}


def new_comment() -> dict[str, Any]:
    return {"body": unique("Comment")}


def new_time_entry() -> dict[str, Any]:
    return {"minutes": 15, "note": unique("Worked")}


READ, WRITE, ADMIN = Access.READ, Access.WRITE, Access.ADMIN

# Tenant settings: always the caller's own tenant's; no path names an object.

TENANT_SETTINGS = "/api/v1/tenant/settings"


def settings_target(world: World, actor: Actor) -> Target:
    changed = world.call(
        "PATCH", TENANT_SETTINGS, world.owner.admin.headers, {"flap_threshold": 17}
    )
    assert changed.status_code == 200, changed.text
    # Another tenant's answer (the default, 5) never shows the owner's value.
    return Target({}, '"flap_threshold":17', "", lambda: world.owner_get(TENANT_SETTINGS))


def expect_settings_changed(target: Target, response: httpx.Response) -> None:
    assert response.json()["flap_window_minutes"] == 45


ROUTES = [
    Route("GET", TENANT_SETTINGS, READ, settings_target),
    Route(
        "PATCH",
        TENANT_SETTINGS,
        ADMIN,
        settings_target,
        lambda: {"flap_window_minutes": 45},
        expect=expect_settings_changed,
    ),
    Route("GET", INTEGRATIONS, READ, integration_target),
    Route("POST", INTEGRATIONS, ADMIN, integration_target, new_integration),
    Route("GET", INTEGRATION, READ, integration_target),
    Route("PATCH", INTEGRATION, ADMIN, integration_target, lambda: {"name": unique("Renamed")}),
    Route("DELETE", INTEGRATION, ADMIN, integration_target),
    Route(
        "POST",
        INTEGRATION + "/rotate-secret",
        ADMIN,
        integration_target,
        status=200,
        expect=expect_new_secret,
    ),
    Route("GET", MAPPINGS, READ, mapping_target),
    Route("POST", MAPPINGS, ADMIN, mapping_target, body_from=new_mapping),
    Route("DELETE", MAPPINGS + "/{mapping_id}", ADMIN, mapping_target),
    Route("POST", MAPPINGS + "/{mapping_id}/reprocess", WRITE, mapping_target, status=200),
    Route("GET", ASSETS, READ, asset_target),
    Route(
        "PATCH",
        ASSETS + "/{asset_id}",
        WRITE,
        asset_target,
        body_from=lambda refs: {"client_id": refs["client_id"]},
    ),
    Route("GET", LETTERS, READ, letter_target),
    Route(
        "POST",
        LETTERS + "/{letter_id}/replay",
        WRITE,
        letter_target,
        status=200,
        expect=expect_replayed,
    ),
    Route("POST", INTEGRATION + "/sync", WRITE, sync_target, status=200, expect=expect_synced),
    Route("GET", SYNC_RUNS, READ, run_target),
    Route("GET", SYNC_RUNS + "/{run_id}", READ, run_target),
    Route("GET", ALERTS, READ, alert_target),
    Route("GET", ALERTS + "/{alert_id}", READ, alert_target),
    Route("GET", ALERTS + "/triage", READ, alert_target),
    # The body names ids, answered one by one (another tenant's: not_found, audited),
    # as tests/integration/test_alert_actions.py shows; here a random one.
    Route(
        "POST",
        ALERTS + "/bulk",
        WRITE,
        alert_target,
        lambda: {"alert_ids": [str(uuid.uuid4())], "action": "acknowledge"},
        status=200,
        expect=expect_per_id,
    ),
    Route("POST", ALERTS + "/{alert_id}/acknowledge", WRITE, alert_target, status=200),
    Route("POST", ALERTS + "/{alert_id}/resolve", WRITE, alert_target, status=200),
    Route(
        "POST",
        ALERTS + "/{alert_id}/ticket",
        WRITE,
        client_alert_target,
        status=200,
        expect=expect_alert,
    ),
    Route("GET", ALERTS + "/{alert_id}/outbound", READ, alert_target, expect=expect_no_calls),
    Route("GET", "/api/v1/assets/{asset_id}/alerts", READ, asset_history_target),
    Route("GET", RULES, READ, rule_target),
    Route("POST", RULES, ADMIN, rule_target, new_rule),
    Route(
        "POST",
        RULES + "/reorder",
        ADMIN,
        rule_target,
        body_from=lambda refs: {"rule_ids": refs["rule_ids"]},
        status=200,
        expect=expect_reordered,
    ),
    Route(
        "POST",
        RULES + "/test",
        READ,
        trial_target,
        body_from=trial,
        status=200,
        expect=expect_trial,
    ),
    Route("GET", RULES + "/{rule_id}", READ, rule_target),
    Route("PATCH", RULES + "/{rule_id}", ADMIN, rule_target, lambda: {"name": "Changed"}),
    Route("DELETE", RULES + "/{rule_id}", ADMIN, rule_target),
    Route("GET", WINDOWS, READ, window_target),
    Route("POST", WINDOWS, ADMIN, window_target, new_window),
    Route("GET", WINDOWS + "/{window_id}", READ, window_target),
    Route("GET", WINDOWS + "/{window_id}/active", READ, window_target, expect=expect_active),
    Route("PATCH", WINDOWS + "/{window_id}", ADMIN, window_target, lambda: {"name": "Changed"}),
    Route("DELETE", WINDOWS + "/{window_id}", ADMIN, window_target),
    Route("GET", BOARDS, READ, board_target),
    Route("POST", BOARDS, ADMIN, board_target, new_board),
    Route("GET", BOARD, READ, board_target),
    Route("PATCH", BOARD, ADMIN, board_target, lambda: {"name": "Changed"}),
    Route("DELETE", BOARD, ADMIN, board_target),
    Route("GET", STATUSES, READ, status_target),
    Route("POST", STATUSES, ADMIN, status_target, new_status),
    Route("GET", STATUSES + "/{status_id}", READ, status_target),
    Route("PATCH", STATUSES + "/{status_id}", ADMIN, status_target, lambda: {"name": "Changed"}),
    Route("DELETE", STATUSES + "/{status_id}", ADMIN, status_target),
    Route("GET", PRIORITIES, READ, priority_target),
    Route("POST", PRIORITIES, ADMIN, priority_target, new_priority),
    Route("GET", PRIORITIES + "/{priority_id}", READ, priority_target),
    Route(
        "PATCH",
        PRIORITIES + "/{priority_id}",
        ADMIN,
        priority_target,
        lambda: {"name": unique("Renamed")},
    ),
    Route("DELETE", PRIORITIES + "/{priority_id}", ADMIN, priority_target),
    Route("GET", TICKETS, READ, ticket_target),
    Route("POST", TICKETS, WRITE, ticket_target, new_ticket),
    Route("GET", TICKET, READ, ticket_target),
    Route("PATCH", TICKET, WRITE, ticket_target, lambda: {"title": "Changed"}),
    Route("GET", TICKET + "/comments", READ, comment_target),
    Route("POST", TICKET + "/comments", WRITE, comment_target, new_comment),
    Route("GET", TICKET + "/time-entries", READ, time_entry_target),
    Route("POST", TICKET + "/time-entries", WRITE, time_entry_target, new_time_entry),
    Route("GET", SUBSCRIPTIONS, ADMIN, subscription_target),
    Route("POST", SUBSCRIPTIONS, ADMIN, subscription_target, new_subscription),
    Route("GET", SUBSCRIPTION, ADMIN, subscription_target),
    Route("PATCH", SUBSCRIPTION, ADMIN, subscription_target, lambda: {"enabled": False}),
    Route("DELETE", SUBSCRIPTION, ADMIN, subscription_target),
    Route(
        "POST",
        SUBSCRIPTION + "/rotate-secret",
        ADMIN,
        subscription_target,
        status=200,
        expect=expect_new_signing_secret,
    ),
    Route("GET", DELIVERIES, ADMIN, delivery_target),
    Route(
        "POST",
        DELIVERIES + "/{delivery_id}/replay",
        ADMIN,
        delivery_target,
        status=200,
        expect=expect_delivery_replayed,
    ),
]


@pytest.fixture
def container(settings: Settings) -> Iterator[Container]:
    """Every NinjaOne integration has a provider API (reporting nothing), so syncs run."""
    c = build(settings, passwords=FAST_PASSWORDS, provider_apis=QuietProviders())
    yield c
    c.close()


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


def test_another_tenants_objects_are_not_reachable_through_your_own_parents(world: World) -> None:
    """A mapping, asset, dead letter or status named under the caller's own integration
    or board: as missing as a random id, and recorded in the owner's log all the same."""
    owner, intruder = world.owner.admin, world.other.admin
    mapping, asset = mapping_target(world, owner), asset_target(world, owner)
    letter, status = letter_target(world, owner), status_target(world, owner)
    targets = (mapping, asset, letter, status)
    before = [target.snapshot() for target in targets]

    def own(path: str, body: dict[str, Any]) -> str:
        made = world.call("POST", path, intruder.headers, body)
        assert made.status_code == 201, made.text
        return str(made.json()["id"])

    integration = f"{INTEGRATIONS}/{own(INTEGRATIONS, new_integration())}"
    board = f"{BOARDS}/{own(BOARDS, new_board())}"
    client_id = own("/api/v1/clients", {"name": unique("Mine")})
    attempts = [
        ("DELETE", f"{integration}/mappings/{mapping.id}", None),
        ("PATCH", f"{integration}/assets/{asset.id}", {"client_id": client_id}),
        ("POST", f"{integration}/dead-letters/{letter.id}/replay", None),
        ("GET", f"{board}/statuses/{status.id}", None),
        ("PATCH", f"{board}/statuses/{status.id}", {"name": "Mine now"}),
        ("DELETE", f"{board}/statuses/{status.id}", None),
    ]
    for method, path, body in attempts:
        response = world.call(method, path, intruder.headers, body)
        assert_error(response, 404, "not_found")

    assert [target.snapshot() for target in targets] == before
    assert cross_tenant_entries(world.client, intruder.headers) == []
    logged = cross_tenant_entries(world.client, owner.headers)
    assert sorted((e["object_type"], e["object_id"]) for e in logged) == sorted(
        [
            ("org_mapping", mapping.id),
            ("asset", asset.id),
            ("dead_letter", letter.id),
            *[("ticket_status", status.id)] * 3,
        ]
    )
