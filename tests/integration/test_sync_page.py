"""The integration page's sync part: last run, recent runs, "Sync now" (CSRF-checked)."""

from __future__ import annotations

import html
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fleetward.bootstrap import Container, build
from fleetward.config import Settings
from fleetward.domain.errors import ProviderApiError
from tests.conftest import FAST_PASSWORDS, TenantFixture
from tests.integration.test_pages import log_in
from tests.integration.test_webhook_pipeline import trigger
from tests.support.fake_provider_api import FakeProviders
from tests.support.pages import flash, forms
from tests.support.pipeline import make_integration, tickets

pytestmark = pytest.mark.sqlite_only


@pytest.fixture
def providers() -> FakeProviders:
    return FakeProviders()


@pytest.fixture
def container(settings: Settings, providers: FakeProviders) -> Iterator[Container]:
    c = build(settings, passwords=FAST_PASSWORDS, provider_apis=providers)
    yield c
    c.close()


def ninja_with_api(
    client: TestClient, tenant: TenantFixture, container: Container, providers: FakeProviders
) -> tuple[dict[str, Any], Any]:
    integration = make_integration(
        client, tenant, "ninjaone", {"default_client_id": _client(client, tenant)}
    )
    api = providers.add(integration["id"])
    with container.pipeline.uow.read() as repos:
        model = repos.integrations.get(tenant.id, uuid.UUID(integration["id"]))
    return integration, (api, model)


def _client(client: TestClient, tenant: TenantFixture) -> str:
    made = client.post("/api/v1/clients", json={"name": "Contoso"}, headers=tenant.admin.headers)
    return str(made.json()["id"])


def test_sync_now_shows_the_run_and_its_error(
    client: TestClient, tenant: TenantFixture, container: Container, providers: FakeProviders
) -> None:
    client.post("/api/v1/alert-rules", json={"name": "All"}, headers=tenant.admin.headers)
    integration, (api, model) = ninja_with_api(client, tenant, container, providers)
    api.report(model, trigger(1, "s1"))
    path = f"/integrations/{integration['id']}"
    token = log_in(client, tenant.operator.email)

    page = client.get(path)
    assert f"{path}/sync" in forms(page)
    assert "never" in page.text and "Polling is off" in page.text

    synced = client.post(f"{path}/sync", data={"csrf_token": token}, follow_redirects=True)
    assert flash(synced) == ("Synced: created 1, resolved 0, reevaluated 0, unchanged 0, errors 0.")
    assert len(tickets(container, tenant.id)) == 1

    api.failure = ProviderApiError("401 from /ws/oauth/token: <bad client>")
    failed = client.post(f"{path}/sync", data={"csrf_token": token}, follow_redirects=True)
    assert flash(failed).startswith("Sync failed: provider: 401")
    text = failed.text
    assert "&lt;bad client&gt;" in text and "<bad client>" not in text
    assert "Recent runs" in text and ">failed<" in html.unescape(text)

    for forged in ({}, {"csrf_token": "forged"}):
        refused = client.post(f"{path}/sync", data=forged)
        assert refused.status_code == 403 and "CSRF" in refused.text
    assert api.fetches == 2


def test_readonly_sees_no_button_and_may_not_sync_others_see_404(
    client: TestClient,
    tenant: TenantFixture,
    other_tenant: TenantFixture,
    container: Container,
    providers: FakeProviders,
) -> None:
    integration, (api, _) = ninja_with_api(client, tenant, container, providers)
    path = f"/integrations/{integration['id']}"
    token = log_in(client, tenant.readonly.email)
    page = client.get(path)
    assert "Last sync" in page.text and forms(page) == []
    assert client.post(f"{path}/sync", data={"csrf_token": token}).status_code == 403
    client.cookies.clear()
    token = log_in(client, other_tenant.admin.email)
    assert client.post(f"{path}/sync", data={"csrf_token": token}).status_code == 404
    assert api.fetches == 0
    generic = make_integration(client, other_tenant, "generic")
    assert "Sync now" not in client.get(f"/integrations/{generic['id']}").text
