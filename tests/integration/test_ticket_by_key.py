"""The two questions asked of a dedup key's tickets, on both engines.

A trigger asks for the key's open ticket, else the last closed one it may
reopen (one statement, TicketRepository.latest_by_key); a person reopening a
ticket asks whether another ticket of its key is open (open_by_key).
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from fleetward.adapters.storage import schema
from fleetward.adapters.storage.ticket_repositories import TicketRepository
from fleetward.bootstrap import Container
from fleetward.domain.rules import RuleActions
from fleetward.domain.tickets import Ticket
from tests.conftest import TenantFixture
from tests.support.pipeline import add_rule, make_client, make_integration, map_org, post, sample


@pytest.fixture
def opened(client: TestClient, tenant: TenantFixture, container: Container) -> Ticket:
    """The ticket one NinjaOne trigger opened."""
    integration = make_integration(client, tenant, "ninjaone")
    contoso = make_client(client, tenant, "Contoso")
    map_org(client, tenant, integration, 7, contoso)
    add_rule(container, tenant.id, actions=RuleActions())
    answer = post(client, integration, sample("ninjaone", "condition_triggered"))
    assert answer.json()["result"] == "created", answer.text
    with container.db.read() as conn:
        (ticket,) = TicketRepository(conn).all_where(
            schema.ticket.c.tenant_id == tenant.id, order_by=[schema.ticket.c.number]
        )
    assert ticket.dedup_key is not None and not ticket.is_closed
    return ticket


def closed_copy(ticket: Ticket, number: int, closed_at: datetime) -> Ticket:
    """Another ticket of the same key, closed at `closed_at`."""
    return dataclasses.replace(
        ticket,
        id=uuid.uuid4(),
        number=number,
        is_closed=True,
        closed_at=closed_at,
        updated_at=closed_at,
    )


def test_a_keys_open_ticket_wins_over_its_closed_ones_else_the_last_closed(
    container: Container, opened: Ticket
) -> None:
    """On both engines: the one statement a trigger asks (a UNION of two lookups)
    answers the key's open ticket even with tickets closed later under the key; once
    it closes, the most recently closed one (the higher number on a tie)."""
    tenant_id = opened.tenant_id
    key = opened.dedup_key
    assert key is not None
    base = datetime(2030, 1, 1, tzinfo=UTC)  # closed after the open ticket was created

    def closed(number: int, minutes: int) -> Ticket:
        return closed_copy(opened, number, base + timedelta(minutes=minutes))

    with container.db.write() as conn:
        tickets = TicketRepository(conn)
        for ticket in (closed(50, 5), closed(51, 9), closed(52, 9), closed(53, 1)):
            tickets.insert(ticket)
        assert tickets.latest_by_key(tenant_id, key) == opened
        assert tickets.latest_by_key(tenant_id, key + "-other") is None
        tickets.update(tenant_id, opened.id, is_closed=True, closed_at=base)
        latest = tickets.latest_by_key(tenant_id, key)
    assert latest is not None and latest.number == 52 and latest.is_closed


def test_a_person_cannot_reopen_a_ticket_while_another_of_its_key_is_open(
    client: TestClient, container: Container, tenant: TenantFixture, opened: Ticket
) -> None:
    earlier = closed_copy(opened, 40, datetime(2024, 1, 1, tzinfo=UTC))
    with container.db.write() as conn:
        TicketRepository(conn).insert(earlier)
    statuses = client.get(
        f"/api/v1/boards/{opened.board_id}/statuses", headers=tenant.operator.headers
    ).json()["items"]
    new = next(s["id"] for s in statuses if s["name"] == "New")
    reopen = client.patch(
        f"/api/v1/tickets/{earlier.id}", json={"status_id": new}, headers=tenant.operator.headers
    )
    assert reopen.status_code == 409, reopen.text
    error = reopen.json()["error"]
    assert error["field"] == "status_id"
    assert f"#{opened.number} is open" in error["message"]
