"""Helpers for tests of agents and the timeline: a site, a token, an enrolled agent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import TenantFixture
from tests.support.api import unique

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


@dataclass
class EnrolledAgent:
    id: str
    key: str
    site_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


def make_site(client: TestClient, tenant: TenantFixture) -> str:
    h = tenant.admin.headers
    made = client.post("/api/v1/clients", json={"name": unique("Contoso")}, headers=h)
    assert made.status_code == 201, made.text
    site = client.post(f"/api/v1/clients/{made.json()['id']}/sites", json={"name": "HQ"}, headers=h)
    assert site.status_code == 201, site.text
    site_id: str = site.json()["id"]
    return site_id


def make_token(client: TestClient, tenant: TenantFixture, site_id: str, **extra: Any) -> Any:
    made = client.post(
        "/api/v1/enrollment-tokens",
        json={"site_id": site_id, "name": "rollout", **extra},
        headers=tenant.admin.headers,
    )
    assert made.status_code == 201, made.text
    return made.json()


def enroll(client: TestClient, token: str, hostname: str = "WS-01") -> Any:
    return client.post(
        "/api/v1/agent/enroll",
        json={"token": token, "hostname": hostname, "os": "Windows 11", "agent_version": "0.1.0"},
    )


def enrolled_agent(
    client: TestClient, tenant: TenantFixture, hostname: str = "WS-01"
) -> EnrolledAgent:
    site_id = make_site(client, tenant)
    token = make_token(client, tenant, site_id)["token"]
    answer = enroll(client, token, hostname)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    return EnrolledAgent(body["agent_id"], body["agent_key"], site_id)


def event(i: int, **overrides: Any) -> dict[str, Any]:
    """The i-th of a stream of distinct, valid events, one minute apart."""
    kinds = ("logon", "logoff", "boot", "shutdown")
    sources = ("winlog:Security", "winlog:System", "journald:systemd-logind")
    base: dict[str, Any] = {
        "at": (T0 + timedelta(minutes=i)).isoformat(),
        "kind": kinds[i % len(kinds)],
        "source": sources[i % len(sources)],
        "event_record_id": str(1000 + i),
        "payload": {"user": f"user{i % 3}", "logon_type": 2 + (i % 2) * 8},
    }
    base.update(overrides)
    return base
