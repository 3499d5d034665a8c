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

The targets each route is tried on are built in tests/support/matrix_pipeline_targets.py
and matrix_ticket_targets.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fleetward.bootstrap import Container, build
from fleetward.config import Settings
from fleetward.domain.identity import Access
from tests.conftest import FAST_PASSWORDS, TenantFixture
from tests.support.api import assert_error, cross_tenant_entries, unique
from tests.support.fake_provider_api import QuietProviders
from tests.support.matrix import (
    Route,
    World,
    check_resource,
    resources,
)
from tests.support.matrix_pipeline_targets import (
    ALERTS,
    ASSETS,
    BOARD,
    BOARDS,
    DELIVERIES,
    INTEGRATION,
    INTEGRATIONS,
    LETTERS,
    MAPPINGS,
    PRIORITIES,
    RULES,
    STATUSES,
    SUBSCRIPTION,
    SUBSCRIPTIONS,
    SYNC_RUNS,
    TICKET,
    TICKETS,
    WINDOWS,
    alert_target,
    asset_history_target,
    asset_target,
    client_alert_target,
    delivery_target,
    expect_active,
    expect_alert,
    expect_delivery_replayed,
    expect_new_secret,
    expect_new_signing_secret,
    expect_no_calls,
    expect_per_id,
    expect_reordered,
    expect_replayed,
    expect_synced,
    expect_trial,
    integration_target,
    letter_target,
    mapping_target,
    new_integration,
    new_mapping,
    new_rule,
    new_subscription,
    new_window,
    rule_target,
    run_target,
    subscription_target,
    sync_target,
    trial,
    trial_target,
    window_target,
)
from tests.support.matrix_ticket_targets import (
    TENANT_SETTINGS,
    board_target,
    comment_target,
    expect_settings_changed,
    new_board,
    new_comment,
    new_priority,
    new_status,
    new_ticket,
    new_time_entry,
    priority_target,
    settings_target,
    status_target,
    ticket_target,
    time_entry_target,
)

# Who may call what is decided above the SQL, by the same tenant filter on both
# engines: the matrix runs on SQLite (the storage contract runs on both engines
# in the repository and API tests).
pytestmark = pytest.mark.sqlite_only

READ, WRITE, ADMIN = Access.READ, Access.WRITE, Access.ADMIN


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
