"""What a person does in the provider round-trip tests (tests/integration/round_trip/):
connect an integration to a fake vendor API, ask for a sync, read its counts."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient

from fleetward.bootstrap import Container
from fleetward.domain.rules import RuleActions
from tests.conftest import Actor, TenantFixture
from tests.support.fake_ninjaone import CLIENT_ID, CLIENT_SECRET, FakeNinjaOne
from tests.support.fake_tactical import API_KEY, FakeTactical
from tests.support.pipeline import add_rule, make_client, map_org, sample

NINJA_CREDENTIALS = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
COUNTS = ("created", "resolved", "reevaluated", "unchanged", "errors")


class Waits(list[float]):
    """The provider clients' backoff waits: recorded, never slept."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


def connect(
    client: TestClient,
    tenant: TenantFixture,
    container: Container,
    provider: str,
    url: str,
    credentials: dict[str, str],
    org: str | int,
    **actions: Any,
) -> dict[str, Any]:
    """An integration with its API's address and credentials, its organisation mapped
    to a client, and a catch-all rule with `actions`."""
    answer = client.post(
        "/api/v1/integrations",
        json={
            "provider": provider,
            "name": f"{provider} {uuid.uuid4().hex[:6]}",
            "settings": {"api_base_url": url},
            "credentials": credentials,
        },
        headers=tenant.admin.headers,
    )
    assert answer.status_code == 201, answer.text
    integration: dict[str, Any] = answer.json()
    map_org(client, tenant, integration, org, make_client(client, tenant, "Contoso"))
    add_rule(container, tenant.id, actions=RuleActions(**actions))
    return integration


def ninja_integration(
    client: TestClient,
    tenant: TenantFixture,
    container: Container,
    ninja: FakeNinjaOne,
    **actions: Any,
) -> dict[str, Any]:
    return connect(
        client, tenant, container, "ninjaone", ninja.url, NINJA_CREDENTIALS, 7, **actions
    )


def tactical_integration(
    client: TestClient, tenant: TenantFixture, container: Container, tactical: FakeTactical
) -> dict[str, Any]:
    credentials = {"api_key": API_KEY}
    return connect(
        client, tenant, container, "tacticalrmm", tactical.url, credentials, "Contoso Ltd"
    )


def sync(client: TestClient, integration: dict[str, Any], who: Actor) -> dict[str, Any]:
    answer = client.post(f"/api/v1/integrations/{integration['id']}/sync", headers=who.headers)
    assert answer.status_code == 200, answer.text
    run: dict[str, Any] = answer.json()
    return run


def counts(run: dict[str, Any]) -> dict[str, int]:
    return {name: run[name] for name in COUNTS}


def expect(**changed: int) -> dict[str, int]:
    return {name: changed.get(name, 0) for name in COUNTS}


def alerts_listed(client: TestClient, tenant: TenantFixture) -> list[dict[str, Any]]:
    answer = client.get("/api/v1/alerts", headers=tenant.readonly.headers)
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def ninja_trigger(activity_id: int = 918273) -> dict[str, Any]:
    body = sample("ninjaone", "condition_triggered")
    body["id"] = activity_id
    return body
