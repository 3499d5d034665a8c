"""Integrations from the dashboard: enable, disable, rename and delete (after a
confirmation page), copy buttons for the webhook URL and secret, and when each last
received a webhook; admins only, never the built-in agents integration, never
another tenant's."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fleetward.bootstrap import Container
from tests.conftest import TenantFixture
from tests.integration.test_pages import log_in
from tests.support.pages import api, field_error, flash, forms, trigger
from tests.support.pipeline import make_client, make_integration, post

pytestmark = pytest.mark.sqlite_only


def last_received(page_text: str, integration_id: str) -> str:
    """The list row's "Last webhook" cell, as text."""
    row = page_text.split(f'href="/integrations/{integration_id}"', 1)[1].split("</tr>", 1)[0]
    cell = row.split('data-testid="last-received">', 1)[1].split("</td>", 1)[0]
    return re.sub(r"<[^>]+>", "", cell).strip()


def test_an_admin_disables_and_enables_an_integration_from_the_list(
    client: TestClient, tenant: TenantFixture
) -> None:
    integration = make_integration(client, tenant, "generic")
    iid = integration["id"]
    token = log_in(client, tenant.admin.email)
    assert f"/integrations/{iid}/enabled" in forms(client.get("/integrations"))

    data = {"csrf_token": token, "enabled": "false", "back": "/integrations"}
    done = client.post(f"/integrations/{iid}/enabled", data=data)
    assert flash(done) == (
        f"Integration “{integration['name']}” disabled: "
        "its webhooks are refused until it is enabled again."
    )
    assert api(client, tenant, "GET", f"/api/v1/integrations/{iid}")["enabled"] is False
    assert post(client, integration, trigger()).status_code == 403
    assert 'value="true"' in done.text  # the row now offers Enable

    back = f"/integrations/{iid}"
    again = client.post(
        f"/integrations/{iid}/enabled", data={**data, "enabled": "true", "back": back}
    )
    assert str(again.url).endswith(back)
    assert flash(again) == f"Integration “{integration['name']}” enabled."
    assert post(client, integration, trigger()).status_code == 200


def test_rename_on_its_own_page_with_the_name_checked(
    client: TestClient, tenant: TenantFixture
) -> None:
    iid = make_integration(client, tenant, "generic")["id"]
    token = log_in(client, tenant.admin.email)
    page = client.get(f"/integrations/{iid}/edit")
    assert f"/integrations/{iid}/edit" in forms(page)
    refused = client.post(f"/integrations/{iid}/edit", data={"csrf_token": token, "name": "  "})
    assert refused.status_code == 422
    assert field_error(refused, "name") == "name must not be empty"
    saved = client.post(f"/integrations/{iid}/edit", data={"csrf_token": token, "name": "EU RMM"})
    assert flash(saved) == "Integration “EU RMM” saved."
    assert api(client, tenant, "GET", f"/api/v1/integrations/{iid}")["name"] == "EU RMM"


def test_delete_asks_first_then_deletes(client: TestClient, tenant: TenantFixture) -> None:
    integration = make_integration(client, tenant, "generic")
    iid = integration["id"]
    token = log_in(client, tenant.admin.email)
    confirm = client.get(f"/integrations/{iid}/delete")
    assert "Delete integration?" in confirm.text
    assert "its webhook URL stops working" in confirm.text
    assert f"/integrations/{iid}/delete" in forms(confirm)
    assert len(api(client, tenant, "GET", "/api/v1/integrations")["items"]) == 1  # asked only

    done = client.post(f"/integrations/{iid}/delete", data={"csrf_token": token})
    assert flash(done) == f"Integration “{integration['name']}” deleted."
    assert api(client, tenant, "GET", "/api/v1/integrations")["items"] == []
    assert post(client, integration, trigger()).status_code == 401  # no such webhook now


def test_copy_buttons_for_the_webhook_url_and_the_secret(
    client: TestClient, tenant: TenantFixture
) -> None:
    token = log_in(client, tenant.admin.email)
    made = client.post(
        "/integrations", data={"csrf_token": token, "provider": "generic", "name": "Uptime"}
    )
    assert 'data-copy="webhook-url"' in made.text
    assert 'data-copy="webhook-secret"' in made.text
    iid = re.search(r'href="/integrations/([0-9a-f-]{36})"', made.text)
    assert iid is not None
    page = client.get(f"/integrations/{iid.group(1)}")
    assert 'data-copy="webhook-url"' in page.text
    assert 'data-copy="webhook-secret"' not in page.text  # never shown again


def test_the_time_of_the_last_webhook_received(client: TestClient, tenant: TenantFixture) -> None:
    client_id = make_client(client, tenant, "Contoso")
    quiet = make_integration(client, tenant, "generic", {"default_client_id": client_id})
    busy = make_integration(client, tenant, "generic", {"default_client_id": client_id})
    log_in(client, tenant.readonly.email)  # anyone may see it
    listing = client.get("/integrations")
    assert last_received(listing.text, busy["id"]) == "never"

    assert post(client, busy, trigger()).status_code == 200
    listing = client.get("/integrations")
    assert last_received(listing.text, busy["id"]) == "just now"
    assert last_received(listing.text, quiet["id"]) == "never"
    page = client.get(f"/integrations/{busy['id']}")
    assert re.search(r"Last webhook received: <time[^>]*>[^<]+</time> \(just now\)", page.text)

    # A body it could not read counts too: it came (and is kept as a dead letter).
    assert post(client, quiet, {"kind": "triggered"}).status_code == 400
    assert last_received(client.get("/integrations").text, quiet["id"]) == "just now"


def test_the_built_in_integration_offers_none_of_it(
    client: TestClient, tenant: TenantFixture, container: Container
) -> None:
    built_in = container.eventlog_alerts.integration_for(tenant.id)
    token = log_in(client, tenant.admin.email)
    assert not any(str(built_in.id) in action for action in forms(client.get("/integrations")))
    assert forms(client.get(f"/integrations/{built_in.id}")) == []
    for method, path, data in (
        ("POST", f"/integrations/{built_in.id}/enabled", {"enabled": "false"}),
        ("GET", f"/integrations/{built_in.id}/edit", None),
        ("POST", f"/integrations/{built_in.id}/edit", {"name": "Mine"}),
        ("GET", f"/integrations/{built_in.id}/delete", None),
        ("POST", f"/integrations/{built_in.id}/delete", {}),
    ):
        sent: Any = None if data is None else {**data, "csrf_token": token}
        refused = client.request(method, path, data=sent)
        assert refused.status_code == 409, path
    assert api(client, tenant, "GET", f"/api/v1/integrations/{built_in.id}")["enabled"] is True


@pytest.mark.parametrize("role", ["operator", "readonly"])
def test_only_admins_change_integrations(
    client: TestClient, tenant: TenantFixture, role: str
) -> None:
    integration = make_integration(client, tenant, "generic")
    iid = integration["id"]
    token = log_in(client, getattr(tenant, role).email)
    assert forms(client.get("/integrations")) == []
    assert not any(iid in action for action in forms(client.get(f"/integrations/{iid}")))
    for method, path, data in (
        ("POST", f"/integrations/{iid}/enabled", {"enabled": "false"}),
        ("GET", f"/integrations/{iid}/edit", None),
        ("POST", f"/integrations/{iid}/edit", {"name": "Mine"}),
        ("GET", f"/integrations/{iid}/delete", None),
        ("POST", f"/integrations/{iid}/delete", {}),
    ):
        sent: Any = None if data is None else {**data, "csrf_token": token}
        assert client.request(method, path, data=sent).status_code == 403, path
    after = api(client, tenant, "GET", f"/api/v1/integrations/{iid}")
    assert (after["name"], after["enabled"]) == (integration["name"], True)


def test_another_tenants_integration_is_404(
    client: TestClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    theirs = make_integration(client, other_tenant, "generic")["id"]
    mine = make_integration(client, tenant, "generic")["id"]
    token = log_in(client, tenant.admin.email)
    # The same pages of one's own integration answer: only the owner differs.
    assert client.get(f"/integrations/{mine}/edit").status_code == 200
    assert client.get(f"/integrations/{mine}/delete").status_code == 200
    for method, path, data in (
        ("POST", f"/integrations/{theirs}/enabled", {"enabled": "false"}),
        ("GET", f"/integrations/{theirs}/edit", None),
        ("POST", f"/integrations/{theirs}/edit", {"name": "Mine"}),
        ("GET", f"/integrations/{theirs}/delete", None),
        ("POST", f"/integrations/{theirs}/delete", {}),
    ):
        sent: Any = None if data is None else {**data, "csrf_token": token}
        assert client.request(method, path, data=sent).status_code == 404, path
    after = api(client, other_tenant, "GET", f"/api/v1/integrations/{theirs}")
    assert after["enabled"] is True and after["name"] != "Mine"
