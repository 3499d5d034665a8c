"""The isolation matrix's targets for the alert pipeline (tests/support/matrix.py): the
routes' paths; integrations with their mappings, assets, dead letters and sync runs;
webhook subscriptions and their deliveries; alerts, rules and maintenance windows.
Boards, tickets and tenant settings are in matrix_ticket_targets.py.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from tests.conftest import Actor
from tests.support.api import unique
from tests.support.matrix import (
    Refs,
    Target,
    World,
    collection_ids,
    items,
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
