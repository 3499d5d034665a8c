"""Flap protection end to end, on both engines (issue #15 part 7, docs/pipeline.md).

A condition that triggers and resets over and over gets one ticket: a reset
closes it, the next trigger within the tenant's reopen window reopens it, and
past `flap_threshold` triggers in `flap_window_minutes` the key is flapping:
one notification, and resets leave the ticket open until it has been quiet.
Time is the container's injected clock, stepped by the tests, never slept.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from fleetward.adapters.storage import schema
from fleetward.bootstrap import Container, build
from fleetward.config import Settings
from fleetward.domain.rules import RuleActions
from tests.conftest import FAST_PASSWORDS, TenantFixture
from tests.support.pipeline import (
    add_rule,
    comments,
    make_client,
    make_integration,
    map_org,
    post,
    sample,
    tickets,
)


class SteppedClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, minutes: float) -> None:
        self.now += timedelta(minutes=minutes)


@pytest.fixture
def clock() -> SteppedClock:
    return SteppedClock()


@pytest.fixture
def container(settings: Settings, clock: SteppedClock) -> Iterator[Container]:
    c = build(settings, clock=clock, passwords=FAST_PASSWORDS)
    yield c
    c.close()


@pytest.fixture
def ninja(client: TestClient, tenant: TenantFixture, container: Container) -> dict[str, Any]:
    """NinjaOne organisation 7 is Contoso; one rule auto-resolves and tells the operator."""
    integration = make_integration(client, tenant, "ninjaone")
    integration["client_id"] = make_client(client, tenant, "Contoso")
    map_org(client, tenant, integration, 7, integration["client_id"])
    actions = RuleActions(auto_resolve_ticket=True, notify_user_ids=(tenant.operator.user_id,))
    add_rule(container, tenant.id, actions=actions)
    return integration


class Sender:
    """Trigger and reset rounds of one condition (one device, one condition code)."""

    def __init__(self, client: TestClient, integration: dict[str, Any]) -> None:
        self.client = client
        self.integration = integration
        self.rounds = 0

    def _body(self, name: str, activity_id: int) -> dict[str, Any]:
        body = sample("ninjaone", name)
        body.update(id=activity_id, seriesUid=f"series-{self.rounds}", deviceId=1042)
        body["device"]["id"] = 1042
        return body

    def trigger(self) -> str:
        self.rounds += 1
        answer = post(
            self.client, self.integration, self._body("condition_triggered", 2 * self.rounds)
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["result"] == "created"
        return str(answer.json()["alert_id"])

    def reset(self) -> None:
        body = self._body("condition_reset", 2 * self.rounds + 1)
        answer = post(self.client, self.integration, body)
        assert answer.status_code == 200, answer.text
        assert answer.json()["result"] == "resolved"


@pytest.fixture
def sender(client: TestClient, ninja: dict[str, Any]) -> Sender:
    return Sender(client, ninja)


def api_ticket(client: TestClient, tenant: TenantFixture, ticket_id: uuid.UUID) -> dict[str, Any]:
    response = client.get(f"/api/v1/tickets/{ticket_id}", headers=tenant.readonly.headers)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def notifications(container: Container, tenant_id: uuid.UUID) -> list[tuple[str, str]]:
    n = schema.notification
    with container.db.read() as conn:
        rows = conn.execute(
            select(n.c.kind, n.c.title).where(n.c.tenant_id == tenant_id).order_by(n.c.created_at)
        ).all()
    return [(kind, title) for kind, title in rows]


def set_settings(client: TestClient, tenant: TenantFixture, **values: int) -> None:
    response = client.patch("/api/v1/tenant/settings", json=values, headers=tenant.admin.headers)
    assert response.status_code == 200, response.text


def test_six_trigger_reset_cycles_make_one_ticket_and_one_flapping_notification(
    client: TestClient,
    container: Container,
    tenant: TenantFixture,
    sender: Sender,
    clock: SteppedClock,
) -> None:
    for _ in range(6):
        sender.trigger()
        clock.advance(2)
        sender.reset()
        clock.advance(3)

    (ticket,) = tickets(container, tenant.id)
    assert ticket.occurrence_count == 6
    assert not ticket.is_closed  # the sixth trigger made it flapping: its reset left it open
    flapping = [n for n in notifications(container, tenant.id) if n[0] == "alert.flapping"]
    assert flapping == [("alert.flapping", f"#1 is flapping: {ticket.title}")]
    shown = api_ticket(client, tenant, ticket.id)
    assert (shown["flapping"], shown["auto_closed"], len(shown["alert_ids"])) == (True, False, 6)

    said = [c.body for c in comments(container, tenant.id, ticket.id)]
    assert [b for b in said if b.startswith("Re-opened")] == [
        f"Re-opened: occurrence {n}" for n in range(2, 7)
    ]
    assert (
        said.count("Closed automatically: the alert reset and nobody had worked on the ticket.")
        == 5
    )
    assert any(b.startswith("Flapping: more than 5 triggers within 60 minutes") for b in said)
    assert said[-1].startswith("Left open: the alert is flapping.")

    # More of the same while flapping: the open ticket counts it, nobody is told again.
    sender.trigger()
    sender.reset()
    (ticket,) = tickets(container, tenant.id)
    assert (ticket.occurrence_count, ticket.is_closed) == (7, False)
    assert [n[0] for n in notifications(container, tenant.id)].count("alert.flapping") == 1


def test_flapping_stops_after_a_quiet_window_and_resets_close_again(
    client: TestClient,
    container: Container,
    tenant: TenantFixture,
    sender: Sender,
    clock: SteppedClock,
) -> None:
    set_settings(client, tenant, flap_threshold=2, flap_window_minutes=30)
    for _ in range(3):
        sender.trigger()
        clock.advance(1)
        sender.reset()
    (ticket,) = tickets(container, tenant.id)
    assert not ticket.is_closed
    assert api_ticket(client, tenant, ticket.id)["flapping"] is True

    # Still active and flapping; once no trigger has come for the window, the
    # badge goes, and the next reset (no trigger in between) closes the ticket.
    sender.trigger()
    clock.advance(29)
    assert api_ticket(client, tenant, ticket.id)["flapping"] is True
    clock.advance(1)
    assert api_ticket(client, tenant, ticket.id)["flapping"] is False
    sender.reset()
    (ticket,) = tickets(container, tenant.id)
    assert ticket.is_closed and ticket.auto_closed

    # Counting starts afresh: two more rounds reopen and close without flapping.
    for _ in range(2):
        sender.trigger()
        sender.reset()
    (ticket,) = tickets(container, tenant.id)
    assert ticket.is_closed and ticket.auto_closed
    assert [n[0] for n in notifications(container, tenant.id)].count("alert.flapping") == 1


def test_a_ticket_a_person_closed_is_never_reopened(
    client: TestClient, container: Container, tenant: TenantFixture, sender: Sender
) -> None:
    sender.trigger()
    (first,) = tickets(container, tenant.id)
    statuses = client.get(
        f"/api/v1/boards/{first.board_id}/statuses", headers=tenant.operator.headers
    ).json()["items"]
    resolved = next(s["id"] for s in statuses if s["name"] == "Resolved")
    closed = client.patch(
        f"/api/v1/tickets/{first.id}", json={"status_id": resolved}, headers=tenant.operator.headers
    )
    assert closed.status_code == 200, closed.text
    assert (closed.json()["is_closed"], closed.json()["auto_closed"]) == (True, False)

    sender.trigger()
    second, old = tickets(container, tenant.id)[::-1]
    assert old.id == first.id and old.is_closed
    assert (second.number, second.is_closed, second.occurrence_count) == (2, False, 1)

    # Closed by a reset, then reopened and closed again by a person: the person's
    # close is the last word.
    sender.reset()
    second = next(t for t in tickets(container, tenant.id) if t.id == second.id)
    assert second.is_closed and second.auto_closed
    new = next(s["id"] for s in statuses if s["name"] == "New")
    path = f"/api/v1/tickets/{second.id}"
    reopened = client.patch(path, json={"status_id": new}, headers=tenant.operator.headers)
    assert reopened.json()["auto_closed"] is False
    client.patch(path, json={"status_id": resolved}, headers=tenant.operator.headers)
    sender.trigger()
    assert [t.number for t in tickets(container, tenant.id) if not t.is_closed] == [3]


def test_a_trigger_after_the_reopen_window_or_with_it_off_opens_a_new_ticket(
    client: TestClient,
    container: Container,
    tenant: TenantFixture,
    sender: Sender,
    clock: SteppedClock,
) -> None:
    set_settings(client, tenant, reopen_window_minutes=30)
    sender.trigger()
    sender.reset()
    clock.advance(29)
    sender.trigger()  # within the window: the same ticket
    assert [(t.number, t.is_closed) for t in tickets(container, tenant.id)] == [(1, False)]
    sender.reset()
    clock.advance(30)
    sender.trigger()  # 30 minutes after the close: past the window
    assert sorted((t.number, t.is_closed) for t in tickets(container, tenant.id)) == [
        (1, True),
        (2, False),
    ]

    set_settings(client, tenant, reopen_window_minutes=0)
    sender.reset()
    clock.advance(1)
    sender.trigger()
    assert sorted((t.number, t.is_closed) for t in tickets(container, tenant.id)) == [
        (1, True),
        (2, True),
        (3, False),
    ]


def test_triggers_racing_for_a_closed_ticket_reopen_it_once(
    client: TestClient, container: Container, tenant: TenantFixture, ninja: dict[str, Any]
) -> None:
    sender = Sender(client, ninja)
    sender.trigger()
    sender.reset()
    start = threading.Barrier(8)

    def trigger(i: int) -> str:
        body = sample("ninjaone", "condition_triggered")
        body.update(id=1000 + i, seriesUid=f"race-{i}", deviceId=1042)
        body["device"]["id"] = 1042
        start.wait()
        answer = post(client, ninja, body)
        assert answer.status_code == 200, answer.text
        return str(answer.json()["alert_id"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        alert_ids = set(pool.map(trigger, range(8)))

    (ticket,) = tickets(container, tenant.id)
    assert not ticket.is_closed and ticket.occurrence_count == 9
    shown = api_ticket(client, tenant, ticket.id)
    assert alert_ids <= set(shown["alert_ids"])
    said = [c.body for c in comments(container, tenant.id, ticket.id)]
    assert said.count("Re-opened: occurrence 2") == 1
