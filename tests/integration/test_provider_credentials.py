"""Provider API credentials through the integrations API, on both engines: accepted,
sealed at rest, never answered back, and what the provider clients are built from."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from fleetward.adapters.outbound import OutboundHttp
from fleetward.adapters.providers.apis import provider_api
from fleetward.adapters.storage import schema
from fleetward.bootstrap import Container, build
from fleetward.config import Settings
from fleetward.domain.errors import ProviderApiError
from fleetward.domain.forwarding import parse_networks
from fleetward.services.ports import ProviderApi
from tests.conftest import FAST_PASSWORDS, TenantFixture
from tests.support.aio import run_coroutine
from tests.support.fake_ninjaone import CLIENT_ID, CLIENT_SECRET, fake_ninjaone
from tests.support.fake_tactical import API_KEY, fake_tactical
from tests.support.settings import loopback_settings

INTEGRATIONS = "/api/v1/integrations"
FIXTURES = Path(__file__).parent.parent / "fixtures" / "providers"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return loopback_settings(database_url, tmp_path)


WAITS: list[float] = []


async def no_wait(seconds: float) -> None:
    WAITS.append(seconds)


@pytest.fixture
def container(settings: Settings) -> Iterator[Container]:
    # The provider clients' backoff is recorded, not waited out.
    apis = provider_api(OutboundHttp(parse_networks("127.0.0.0/8")), sleep=no_wait)
    c = build(settings, passwords=FAST_PASSWORDS, provider_apis=apis)
    yield c
    c.close()


def create(
    client: TestClient,
    tenant: TenantFixture,
    provider: str,
    settings: dict[str, Any],
    credentials: dict[str, Any] | None,
) -> Any:
    body: dict[str, Any] = {"provider": provider, "name": f"{provider} {uuid.uuid4().hex[:6]}"}
    body["settings"] = settings
    if credentials is not None:
        body["credentials"] = credentials
    return client.post(INTEGRATIONS, json=body, headers=tenant.admin.headers)


def stored_text(container: Container) -> str:
    """Everything the integration and audit tables hold, as text."""
    with container.db.engine.connect() as conn:
        rows = [
            *conn.execute(select(schema.integration)).mappings(),
            *conn.execute(select(schema.audit_log)).mappings(),
        ]
    return json.dumps([dict(row) for row in rows], default=str)


def poll(api: ProviderApi | None) -> int:
    assert api is not None

    async def run() -> int:
        try:
            return len(await api.active_alerts())
        finally:
            await api.aclose()

    return run_coroutine(run())


def test_credentials_are_sealed_never_shown_and_reach_the_provider(
    container: Container, client: TestClient, tenant: TenantFixture
) -> None:
    trigger = json.loads((FIXTURES / "ninjaone" / "condition_triggered.json").read_text())
    with fake_ninjaone() as ninja:
        ninja.trigger(trigger)
        created = create(
            client,
            tenant,
            "ninjaone",
            {"api_base_url": ninja.url},
            {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
        )
        assert created.status_code == 201, created.text
        integration = created.json()
        assert integration["credentials_set"] == ["client_id", "client_secret"]
        answers = [
            created,
            client.get(f"{INTEGRATIONS}/{integration['id']}", headers=tenant.admin.headers),
            client.get(INTEGRATIONS, headers=tenant.readonly.headers),
        ]
        for answer in answers:
            assert answer.status_code == 200 or answer is created
            assert CLIENT_SECRET not in answer.text and CLIENT_ID not in answer.text
        assert answers[2].json()["items"][0]["credentials_set"] == ["client_id", "client_secret"]
        assert CLIENT_SECRET not in stored_text(container)
        assert CLIENT_ID not in stored_text(container)

        integration_id = uuid.UUID(integration["id"])
        opened = container.integrations.opened_credentials(tenant.id, integration_id)
        assert opened is not None and opened[1] == {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        }
        assert poll(container.integrations.provider_api(tenant.id, integration_id)) == 1
        WAITS.clear()
        ninja.fail_next(500, times=4, path="/v2/alerts")
        with pytest.raises(ProviderApiError, match="HTTP 500 after 4 attempts"):
            poll(container.integrations.provider_api(tenant.id, integration_id))
        assert WAITS == [0.5, 1.0, 2.0]
        # Another tenant's id opens nothing.
        assert container.integrations.provider_api(uuid.uuid4(), integration_id) is None


def test_patch_changes_only_the_credentials_it_names_and_null_removes_one(
    container: Container, client: TestClient, tenant: TenantFixture
) -> None:
    with fake_tactical() as tactical:
        made = create(client, tenant, "tacticalrmm", {"api_base_url": tactical.url}, None).json()
        assert made["credentials_set"] == []
        path = f"{INTEGRATIONS}/{made['id']}"
        integration_id = uuid.UUID(made["id"])
        assert container.integrations.provider_api(tenant.id, integration_id) is None

        patched = client.patch(
            path, json={"credentials": {"api_key": "wrong"}}, headers=tenant.admin.headers
        )
        assert patched.status_code == 200 and patched.json()["credentials_set"] == ["api_key"]
        with pytest.raises(ProviderApiError):
            poll(container.integrations.provider_api(tenant.id, integration_id))

        renamed = client.patch(path, json={"name": "Tactical"}, headers=tenant.admin.headers)
        assert renamed.json()["credentials_set"] == ["api_key"]  # untouched by other changes
        client.patch(path, json={"credentials": {"api_key": API_KEY}}, headers=tenant.admin.headers)
        assert poll(container.integrations.provider_api(tenant.id, integration_id)) == 0

        removed = client.patch(
            path, json={"credentials": {"api_key": None}}, headers=tenant.admin.headers
        )
        assert removed.json()["credentials_set"] == []
        assert container.integrations.provider_api(tenant.id, integration_id) is None

    operator = client.patch(
        path, json={"credentials": {"api_key": "x"}}, headers=tenant.operator.headers
    )
    assert operator.status_code == 403
    text = stored_text(container)
    assert API_KEY not in text and '"credentials_set": ["api_key"]' in text  # audited by name


@pytest.mark.parametrize(
    ("provider", "integration_settings", "credentials", "field"),
    [
        ("generic", {}, {"api_key": "k"}, "credentials.api_key"),
        ("tacticalrmm", {}, {"client_id": "x"}, "credentials.client_id"),
        ("ninjaone", {}, {"client_id": " "}, "credentials.client_id"),
        ("ninjaone", {}, {"client_id": "x" * 5000}, "credentials.client_id"),
        ("ninjaone", {}, {"client_id": 7}, "credentials.client_id"),
        ("ninjaone", {"api_base_url": "ftp://eu.ninjarmm.com"}, None, "settings.api_base_url"),
        (
            "ninjaone",
            {"api_base_url": "https://user:pw@eu.ninjarmm.com"},
            None,
            "settings.api_base_url",
        ),
        ("tacticalrmm", {"api_base_url": "https:///x"}, None, "settings.api_base_url"),
    ],
)
def test_bad_credentials_and_base_urls_are_422_naming_the_field(
    client: TestClient,
    tenant: TenantFixture,
    provider: str,
    integration_settings: dict[str, Any],
    credentials: dict[str, Any] | None,
    field: str,
) -> None:
    answer = create(client, tenant, provider, integration_settings, credentials)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["field"] == field
    assert client.get(INTEGRATIONS, headers=tenant.admin.headers).json()["items"] == []
