"""Helpers of the agent channel tests: clients, sites, agents and event-log watches
made through the API, and what an agent's config holds of them.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient

from fleetward.adapters.storage.database import SqlUnitOfWork
from fleetward.bootstrap import Container
from tests.conftest import TenantFixture
from tests.support.agents import EnrolledAgent, enroll, make_token
from tests.support.api import unique

WATCHES = "/api/v1/event-log-watches"
AGENTS = "/api/v1/agents"


def new_client(client: TestClient, tenant: TenantFixture) -> str:
    made = client.post(
        "/api/v1/clients", json={"name": unique("Contoso")}, headers=tenant.admin.headers
    )
    assert made.status_code == 201, made.text
    client_id: str = made.json()["id"]
    return client_id


def new_site(client: TestClient, tenant: TenantFixture, client_id: str) -> str:
    made = client.post(
        f"/api/v1/clients/{client_id}/sites",
        json={"name": unique("Site")},
        headers=tenant.admin.headers,
    )
    assert made.status_code == 201, made.text
    site_id: str = made.json()["id"]
    return site_id


def agent_at(client: TestClient, tenant: TenantFixture, site_id: str, host: str) -> EnrolledAgent:
    answer = enroll(client, make_token(client, tenant, site_id)["token"], host)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    return EnrolledAgent(body["agent_id"], body["agent_key"], site_id)


def new_watch(
    client: TestClient, tenant: TenantFixture, scope: dict[str, Any], **body: Any
) -> dict[str, Any]:
    made = client.post(
        WATCHES,
        json={"name": unique("Watch"), "scope": scope, "log_name": "System", **body},
        headers=tenant.admin.headers,
    )
    assert made.status_code == 201, made.text
    watch: dict[str, Any] = made.json()
    return watch


def as_config(watch: dict[str, Any]) -> dict[str, Any]:
    """A rule as the config carries it: the API's shape less scope and timestamps."""
    return {k: v for k, v in watch.items() if k not in ("scope", "created_at", "updated_at")}


def stored_version(container: Container, tenant: TenantFixture, agent_id: str) -> int:
    with SqlUnitOfWork(container.db).read() as repos:
        agent = repos.agents.get(tenant.id, uuid.UUID(agent_id))
    assert agent is not None
    return int(agent.config_version)


def rule_ids(frame: dict[str, Any]) -> list[str]:
    return [w["id"] for w in frame["config"]["watches"]]
