"""A person closes a ticket: its alerts are reset at their provider after the commit.

The reset is an outbox job enqueued with the close (one per alert, whatever
replays); the runner calls the integration's API (a hand-written fake here),
retries when it fails, and records every attempt on the alert. The close never
waits for, or fails with, the provider.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fleetward.bootstrap import Container, build
from fleetward.config import Settings
from fleetward.domain.rules import RuleActions
from fleetward.entrypoints.http.app import create_app
from tests.conftest import FAST_PASSWORDS, Actor, TenantFixture, make_tenant
from tests.support.aio import run_coroutine
from tests.support.clocks import AheadClock as Clock
from tests.support.fake_provider import FakeProvider
from tests.support.pipeline import (
    add_rule,
    make_client,
    make_integration,
    map_org,
    post,
    sample,
)


@pytest.fixture
def provider() -> FakeProvider:
    return FakeProvider()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def container(settings: Settings, provider: FakeProvider, clock: Clock) -> Iterator[Container]:
    c = build(settings, clock=clock, passwords=FAST_PASSWORDS, provider_apis=provider.factory)
    yield c
    c.close()


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container)) as tc:
        yield tc


def ninja(
    client: TestClient, tenant: TenantFixture, container: Container, **actions: Any
) -> dict[str, Any]:
    integration = make_integration(client, tenant, "ninjaone")
    client_id = make_client(client, tenant, f"Contoso {uuid.uuid4().hex[:4]}")
    map_org(client, tenant, integration, 7, client_id)
    add_rule(container, tenant.id, actions=RuleActions(**actions))
    return integration


def fire(client: TestClient, integration: dict[str, Any], activity_id: int = 1) -> str:
    body = sample("ninjaone", "condition_triggered")
    body["id"] = activity_id
    answer = post(client, integration, body)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["alert_id"])


def close_ticket(client: TestClient, actor: Actor, alert_id: str) -> Any:
    alert = client.get(f"/api/v1/alerts/{alert_id}", headers=actor.headers).json()
    ticket = client.get(f"/api/v1/tickets/{alert['ticket_id']}", headers=actor.headers).json()
    statuses = client.get(
        f"/api/v1/boards/{ticket['board_id']}/statuses", headers=actor.headers
    ).json()["items"]
    closed = next(s for s in statuses if s["kind"] == "closed")
    return client.patch(
        f"/api/v1/tickets/{ticket['id']}", json={"status_id": closed["id"]}, headers=actor.headers
    )


def run_jobs(container: Container) -> int:
    return run_coroutine(container.jobs.run_until_idle())


def alert_of(client: TestClient, actor: Actor, alert_id: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/alerts/{alert_id}", headers=actor.headers)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


# Engine-independent tests pin SQLite; those whose SQL is new (the job queue, the
# alert filters, the trace written back) run on both engines.
SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def test_closing_a_ticket_resets_its_alert_at_the_provider_once(
    client: TestClient, tenant: TenantFixture, container: Container, provider: FakeProvider
) -> None:
    integration = ninja(client, tenant, container)
    alert_id = fire(client, integration, 918273)
    closed = close_ticket(client, tenant.operator, alert_id)
    assert closed.status_code == 200, closed.text
    assert provider.resets == []  # after the commit, by the runner: not in the request

    assert run_jobs(container) == 1
    assert run_jobs(container) == 0  # done: never sent twice
    assert len(provider.resets) == 1
    assert provider.opened == provider.closed == 1  # the API's client is closed after use
    external_id, reference = provider.resets[0]
    assert external_id == "918273"
    number = closed.json()["number"]
    assert reference is not None and f"#{number}" in reference
    assert f"/tickets/{closed.json()['id']}" in reference

    shown = alert_of(client, tenant.readonly, alert_id)
    assert shown["status"] == "resolved"
    assert shown["outbound_error"] is None
    assert shown["trace"]["outbound"][-1]["result"] == "reset at the provider"
    jobs = client.get(f"/api/v1/alerts/{alert_id}/outbound", headers=tenant.readonly.headers)
    assert jobs.status_code == 200, jobs.text
    assert [(j["kind"], j["status"], j["attempts"]) for j in jobs.json()["items"]] == [
        ("provider.reset", "done", 1)
    ]


def test_a_provider_failure_shows_on_the_alert_and_the_retry_clears_it(
    client: TestClient,
    tenant: TenantFixture,
    container: Container,
    provider: FakeProvider,
    clock: Clock,
) -> None:
    integration = ninja(client, tenant, container)
    alert_id = fire(client, integration)
    provider.failures = 1  # the provider is down
    closed = close_ticket(client, tenant.operator, alert_id)
    assert closed.status_code == 200, closed.text  # the close never waits for it
    assert closed.json()["is_closed"] is True

    assert run_jobs(container) == 1
    failed = alert_of(client, tenant.operator, alert_id)
    assert "503" in failed["outbound_error"]
    attempt = failed["trace"]["outbound"][-1]
    assert attempt["action"] == "reset" and "will retry" in attempt["result"]
    assert "503" in attempt["error"]
    assert provider.resets == []
    assert run_jobs(container) == 0  # the retry waits for its backoff

    clock.ahead = timedelta(hours=1)
    assert run_jobs(container) == 1
    assert len(provider.resets) == 1
    healed = alert_of(client, tenant.operator, alert_id)
    assert healed["outbound_error"] is None
    assert [a["result"] for a in healed["trace"]["outbound"]][-1] == "reset at the provider"
    assert len(healed["trace"]["outbound"]) == 2  # both attempts kept


@SQLITE
def test_a_rule_that_opted_out_enqueues_no_reset(
    client: TestClient, tenant: TenantFixture, container: Container, provider: FakeProvider
) -> None:
    integration = ninja(client, tenant, container, reset_alert_on_ticket_close=False)
    alert_id = fire(client, integration)
    assert close_ticket(client, tenant.operator, alert_id).status_code == 200
    assert run_jobs(container) == 0
    assert provider.resets == []
    shown = alert_of(client, tenant.operator, alert_id)
    assert shown["status"] == "resolved"
    assert "not reset" in shown["trace"]["outbound"][-1]["result"]


@SQLITE
def test_a_provider_without_an_api_gets_no_job_and_says_so(
    client: TestClient, tenant: TenantFixture, container: Container, provider: FakeProvider
) -> None:
    client_id = make_client(client, tenant)
    generic = make_integration(client, tenant, "generic", {"default_client_id": client_id})
    add_rule(container, tenant.id)
    body = sample("generic", "trigger")
    answer = post(client, generic, body)
    alert_id = answer.json()["alert_id"]
    assert close_ticket(client, tenant.operator, alert_id).status_code == 200
    assert run_jobs(container) == 0
    assert provider.opened == 0
    shown = alert_of(client, tenant.operator, alert_id)
    assert "generic has no API" in shown["trace"]["outbound"][-1]["result"]


@SQLITE
def test_closing_again_after_a_reopen_resets_nothing_more(
    client: TestClient, tenant: TenantFixture, container: Container, provider: FakeProvider
) -> None:
    """The job's key is the alert: closing the same ticket again resets nothing more."""
    integration = ninja(client, tenant, container)
    alert_id = fire(client, integration)
    ticket = close_ticket(client, tenant.operator, alert_id).json()
    run_jobs(container)
    statuses = client.get(
        f"/api/v1/boards/{ticket['board_id']}/statuses", headers=tenant.operator.headers
    ).json()["items"]
    open_status = next(s for s in statuses if s["kind"] == "open")
    reopened = client.patch(
        f"/api/v1/tickets/{ticket['id']}",
        json={"status_id": open_status["id"]},
        headers=tenant.operator.headers,
    )
    assert reopened.status_code == 200, reopened.text
    assert close_ticket(client, tenant.operator, alert_id).status_code == 200
    run_jobs(container)
    assert len(provider.resets) == 1


@SQLITE
def test_closing_works_while_no_provider_api_is_wired(settings: Settings) -> None:
    """bootstrap's default factory opens no API: the reset job fails, recorded, and the
    close itself succeeds."""
    c = build(settings, passwords=FAST_PASSWORDS)
    try:
        tenant = make_tenant(c, "Plain MSP")
        with TestClient(create_app(c)) as tc:
            integration = ninja(tc, tenant, c)
            alert_id = fire(tc, integration)
            assert close_ticket(tc, tenant.operator, alert_id).status_code == 200
            assert run_jobs(c) == 1
            shown = alert_of(tc, tenant.operator, alert_id)
            assert "no API credentials" in shown["outbound_error"]
    finally:
        c.close()
