"""Pipeline A end to end over HTTP: webhook to alert to ticket, on both engines (those
whose decision tests/unit covers on plain values run on SQLite only)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fleetward.bootstrap import Container
from fleetward.domain.rules import RuleActions
from fleetward.domain.tickets import Comment
from tests.conftest import TenantFixture
from tests.support.pipeline import (
    add_rule,
    alert,
    comments,
    make_client,
    make_integration,
    map_org,
    post,
    sample,
    ticket,
    tickets,
    window_around,
)


@pytest.fixture
def ninja(client: TestClient, tenant: TenantFixture, container: Container) -> dict[str, Any]:
    """A NinjaOne integration whose organisation 7 is the client Contoso, and a catch-all rule."""
    integration = make_integration(client, tenant, "ninjaone")
    integration["client_id"] = make_client(client, tenant, "Contoso")
    map_org(client, tenant, integration, 7, integration["client_id"])
    add_rule(container, tenant.id, actions=RuleActions(auto_resolve_ticket=True))
    return integration


def trigger(
    activity_id: int, series: str, device: int = 1042, code: str = "vmm_cond_cpu_usage_ge"
) -> dict[str, Any]:
    body = sample("ninjaone", "condition_triggered")
    body.update(id=activity_id, seriesUid=series, deviceId=device)
    body["device"]["id"] = device
    body["device"]["displayName"] = f"PC-{device}"
    body["data"]["message"]["code"] = code
    return body


def reset(activity_id: int, series: str, device: int = 1042) -> dict[str, Any]:
    body = sample("ninjaone", "condition_reset")
    body.update(id=activity_id, seriesUid=series, deviceId=device)
    body["device"]["id"] = device
    return body


def test_trigger_opens_one_ticket_and_a_replay_changes_nothing(
    client: TestClient, tenant: TenantFixture, container: Container, ninja: dict[str, Any]
) -> None:
    first = post(client, ninja, trigger(1, "s1"))
    assert first.status_code == 200, first.text
    assert first.json()["result"] == "created"
    opened = tickets(container, tenant.id)
    assert len(opened) == 1
    assert opened[0].title == "PC-1042: CPU usage above 90% for 5 minutes"
    assert str(opened[0].client_id) == ninja["client_id"]

    again = post(client, ninja, trigger(1, "s1"))
    assert again.json() == {
        **again.json(),
        "result": "duplicate",
        "alert_id": first.json()["alert_id"],
    }
    assert tickets(container, tenant.id) == opened
    # The ticket's opening comment (#15: the alert's details) and nothing from the replay.
    (opening,) = comments(container, tenant.id, opened[0].id)
    assert opening.body.startswith("Opened for alert: CPU usage above 90% for 5 minutes")

    detail = client.get(
        f"/api/v1/alerts/{first.json()['alert_id']}", headers=tenant.readonly.headers
    )
    assert detail.status_code == 200
    trace = detail.json()["trace"]
    assert trace["rules"][0]["result"] == "matched"
    assert "opened #1" in trace["dedup"]


def test_second_occurrence_joins_the_open_ticket_and_another_device_gets_its_own(
    client: TestClient, tenant: TenantFixture, container: Container, ninja: dict[str, Any]
) -> None:
    post(client, ninja, trigger(1, "s1"))
    second = post(client, ninja, trigger(2, "s2"))
    assert second.json()["result"] == "created"
    (only,) = tickets(container, tenant.id)
    assert only.occurrence_count == 2
    assert [c.body for c in comments(container, tenant.id, only.id)][1:] == [
        "Alert re-triggered: occurrence 2"
    ]

    post(client, ninja, trigger(3, "s3", device=2000))
    assert len(tickets(container, tenant.id)) == 2


def test_reset_closes_an_untouched_ticket_but_leaves_a_worked_one_open(
    client: TestClient, tenant: TenantFixture, container: Container, ninja: dict[str, Any]
) -> None:
    untouched = post(client, ninja, trigger(1, "s1")).json()["alert_id"]
    worked = post(client, ninja, trigger(2, "s2", device=2000)).json()["alert_id"]
    worked_ticket = alert(container, tenant.id, worked).ticket_id
    assert worked_ticket is not None
    with container.pipeline.uow.write() as repos:  # a technician comments on it
        repos.comments.insert(
            Comment(
                uuid.uuid4(),
                tenant.id,
                worked_ticket,
                "user",
                tenant.operator.user_id,
                "looking",
                datetime.now(UTC),
            )
        )

    assert post(client, ninja, reset(10, "s1")).json()["result"] == "resolved"
    assert post(client, ninja, reset(11, "s2", device=2000)).json()["result"] == "resolved"

    closed = alert(container, tenant.id, untouched)
    assert closed.status.value == "auto_resolved"
    assert ticket(container, tenant.id, closed.ticket_id).is_closed  # type: ignore[arg-type]

    still_open = ticket(container, tenant.id, worked_ticket)
    assert not still_open.is_closed
    assert alert(container, tenant.id, worked).status.value == "resolved"
    bodies = [c.body for c in comments(container, tenant.id, worked_ticket)]
    assert any(b.startswith("Alert reset at ninjaone") for b in bodies)
    assert any(b.startswith("Left open") for b in bodies)

    # The same reset again is a no-op.
    assert post(client, ninja, reset(10, "s1")).json()["result"] == "duplicate"


def test_a_ticket_closed_by_a_reset_is_reopened_by_the_next_trigger_within_the_window(
    client: TestClient, tenant: TenantFixture, container: Container, ninja: dict[str, Any]
) -> None:
    """Issue #15 changed this: a new trigger after an automatic close opened a new
    ticket; within the tenant's reopen window (default 60 minutes) it reopens that one.
    After the window, or with the window at 0, it still opens a new ticket
    (tests/integration/test_flap_protection.py)."""
    post(client, ninja, trigger(1, "s1"))
    post(client, ninja, reset(2, "s1"))  # untouched: closed automatically
    (closed,) = tickets(container, tenant.id)
    assert closed.is_closed and closed.auto_closed
    third = post(client, ninja, trigger(3, "s3")).json()
    (reopened,) = tickets(container, tenant.id)
    assert reopened.id == closed.id
    assert (reopened.is_closed, reopened.closed_at, reopened.auto_closed) == (False, None, False)
    assert reopened.occurrence_count == 2
    assert alert(container, tenant.id, third["alert_id"]).ticket_id == closed.id
    assert comments(container, tenant.id, closed.id)[-1].body == "Re-opened: occurrence 2"

    # With reopening turned off, the next round opens a new ticket as before.
    off = {"reopen_window_minutes": 0}
    assert client.patch(
        "/api/v1/tenant/settings", json=off, headers=tenant.admin.headers
    ).is_success
    post(client, ninja, reset(4, "s3"))
    post(client, ninja, trigger(5, "s5"))
    opened = tickets(container, tenant.id)
    assert len(opened) == 2
    assert [t.is_closed for t in opened] == [True, False]


# The decision is tested on plain values (tests/unit/test_pipeline_on_fakes.py); SQLite
# is enough here for the HTTP path.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_trigger_in_a_maintenance_window_is_suppressed_and_its_reset_is_quiet(
    client: TestClient, tenant: TenantFixture, container: Container, ninja: dict[str, Any]
) -> None:
    body = trigger(1, "s1")
    at = datetime.fromtimestamp(body["activityTime"], UTC)
    window_around(container, tenant.id, ninja["client_id"], at)

    answer = post(client, ninja, body).json()
    assert answer["result"] == "suppressed"
    assert tickets(container, tenant.id) == []
    assert post(client, ninja, reset(2, "s1")).json()["result"] == "resolved"
    assert alert(container, tenant.id, answer["alert_id"]).status.value == "resolved"
    assert tickets(container, tenant.id) == []


def test_reset_of_an_unknown_series_is_recorded_without_a_ticket(
    client: TestClient, tenant: TenantFixture, container: Container, ninja: dict[str, Any]
) -> None:
    answer = post(client, ninja, reset(5, "never-seen")).json()
    assert answer["result"] == "recorded"
    assert alert(container, tenant.id, answer["alert_id"]).status.value == "resolved"
    assert tickets(container, tenant.id) == []


# The decision is tested on plain values (tests/unit/test_pipeline_on_fakes.py); SQLite
# is enough here for the HTTP path.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_unmapped_organisation_is_recorded_only(
    client: TestClient, tenant: TenantFixture, container: Container, ninja: dict[str, Any]
) -> None:
    body = trigger(1, "s1")
    body["device"]["organizationId"] = 999
    answer = post(client, ninja, body).json()
    assert answer["result"] == "recorded"
    assert tickets(container, tenant.id) == []


def test_non_condition_activity_is_ignored(client: TestClient, ninja: dict[str, Any]) -> None:
    answer = post(client, ninja, sample("ninjaone", "system_activity"))
    assert answer.status_code == 200
    assert answer.json()["result"] == "ignored"


# The decision is tested on plain values (tests/unit/test_pipeline_on_fakes.py); SQLite
# is enough here for the HTTP path.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_broken_rule_is_skipped_and_the_next_one_decides(
    client: TestClient, tenant: TenantFixture, container: Container
) -> None:
    """A rule stored before a check existed (here: an invalid pattern) must not stop alerts."""
    from fleetward.domain.rules import RuleConditions

    integration = make_integration(client, tenant, "ninjaone")
    client_id = make_client(client, tenant, "Contoso")
    map_org(client, tenant, integration, 7, client_id)
    broken = add_rule(container, tenant.id, "broken", RuleConditions(message_pattern="("))
    add_rule(container, tenant.id, "everything else")

    answer = post(client, integration, trigger(1, "s1")).json()
    assert answer["result"] == "created"
    tried = alert(container, tenant.id, answer["alert_id"]).trace["rules"]
    assert tried[0]["rule_id"] == str(broken.id)
    assert tried[0]["result"].startswith("skipped")
    assert tried[1]["result"] == "matched"
