"""The integration page's API access form: base URL, polling and the provider
API's credentials (admins only, CSRF-checked, values never shown again)."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from fleetward.bootstrap import Container
from tests.conftest import TenantFixture
from tests.integration.test_pages import log_in
from tests.support.pages import field_error, flash, forms
from tests.support.pipeline import make_integration

pytestmark = pytest.mark.sqlite_only

NINJA_SECRET = "ninja-S3cret-" + uuid.uuid4().hex
NINJA_CLIENT = "ninja-client-" + uuid.uuid4().hex
TACTICAL_KEY = "TRMM-KEY-" + uuid.uuid4().hex


def _form(token: str, **values: Any) -> dict[str, Any]:
    fields = {"api_base_url": "", "poll_interval_minutes": "15", "csrf_token": token}
    fields.update(values)
    return fields


def _stored(container: Container, tenant: TenantFixture, integration_id: str) -> dict[str, Any]:
    """What Fleetward itself would call the provider with: settings and opened credentials."""
    found = container.integrations.opened_credentials(tenant.id, uuid.UUID(integration_id))
    assert found is not None
    integration, credentials = found
    return {"settings": integration.settings, "credentials": credentials}


def _every_page(client: TestClient, integration_id: str) -> dict[str, str]:
    """The HTML of every dashboard page that needs no id, and the integration's own."""
    paths = {f"/integrations/{integration_id}"}
    for route in client.app.routes:  # type: ignore[attr-defined]
        if isinstance(route, APIRoute) and "GET" in route.methods and "{" not in route.path:
            paths.add(route.path)
    return {path: client.get(path).text for path in sorted(paths)}


def test_admin_sets_ninjaone_access_and_no_page_shows_a_value(
    client: TestClient, tenant: TenantFixture, container: Container
) -> None:
    ninja = make_integration(client, tenant, "ninjaone")
    path = f"/integrations/{ninja['id']}"
    token = log_in(client, tenant.admin.email)
    page = client.get(path)
    assert f"{path}/api-access" in forms(page)
    assert "Not set." in page.text

    saved = client.post(
        f"{path}/api-access",
        data=_form(
            token,
            api_base_url="https://eu.ninjarmm.com",
            poll_enabled="on",
            poll_interval_minutes="20",
            client_id=NINJA_CLIENT,
            client_secret=NINJA_SECRET,
        ),
        follow_redirects=True,
    )
    assert flash(saved) == "API access saved."
    assert _stored(container, tenant, ninja["id"]) == {
        "settings": {
            "api_base_url": "https://eu.ninjarmm.com",
            "poll_enabled": True,
            "poll_interval_minutes": 20,
        },
        "credentials": {"client_id": NINJA_CLIENT, "client_secret": NINJA_SECRET},
    }
    assert saved.text.count("Set. Leave blank to keep it.") == 2
    assert "Polled every 20 min." in saved.text

    pages = _every_page(client, ninja["id"])
    assert len(pages) > 15
    for where, text in pages.items():
        assert NINJA_SECRET not in text and NINJA_CLIENT not in text, where
    api = client.get(f"/api/v1{path}", headers=tenant.admin.headers).json()
    assert api["credentials_set"] == ["client_id", "client_secret"]

    # Blank inputs keep both; polling off and another URL change only those.
    kept = client.post(
        f"{path}/api-access",
        data=_form(token, api_base_url="https://app.ninjarmm.com", poll_interval_minutes="20"),
        follow_redirects=True,
    )
    assert flash(kept) == "API access saved." and "Polling is off" in kept.text
    stored = _stored(container, tenant, ninja["id"])
    assert stored["credentials"] == {"client_id": NINJA_CLIENT, "client_secret": NINJA_SECRET}
    assert stored["settings"]["api_base_url"] == "https://app.ninjarmm.com"
    assert stored["settings"]["poll_enabled"] is False

    # One removed, the other kept.
    removed = client.post(
        f"{path}/api-access",
        data=_form(token, api_base_url="https://app.ninjarmm.com", remove="client_secret"),
        follow_redirects=True,
    )
    assert flash(removed) == "API access saved."
    assert _stored(container, tenant, ninja["id"])["credentials"] == {"client_id": NINJA_CLIENT}
    assert re.search(r'data-testid="credential-client_secret">Not set\.', removed.text)


def test_refusals_mark_the_field_keep_what_was_saved_and_show_no_value_typed(
    client: TestClient, tenant: TenantFixture, container: Container
) -> None:
    tactical = make_integration(client, tenant, "tacticalrmm")
    path = f"/integrations/{tactical['id']}"
    token = log_in(client, tenant.admin.email)
    first = client.post(
        f"{path}/api-access",
        data=_form(token, api_base_url="https://api.rmm.example.com", api_key=TACTICAL_KEY),
        follow_redirects=False,
    )
    assert first.status_code == 303
    before = _stored(container, tenant, tactical["id"])
    assert before["credentials"] == {"api_key": TACTICAL_KEY}

    new_key = "TRMM-NEW-" + uuid.uuid4().hex
    refused = client.post(
        f"{path}/api-access",
        data=_form(token, api_base_url="ftp://api.rmm.example.com", api_key=new_key),
    )
    assert refused.status_code == 422
    assert field_error(refused, "api_base_url") == "must be an http(s) URL"
    assert 'name="api_base_url" type="url"' in refused.text
    assert 'value="ftp://api.rmm.example.com" placeholder' in refused.text
    assert 'aria-invalid="true" aria-describedby="api_base_url-error"' in refused.text
    assert new_key not in refused.text and TACTICAL_KEY not in refused.text
    assert "Credentials typed are never shown again: type them once more." in refused.text

    for minutes in ("soon", "3"):
        wrong = client.post(
            f"{path}/api-access",
            data=_form(token, api_base_url="https://x.example", poll_interval_minutes=minutes),
        )
        assert wrong.status_code == 422
        assert field_error(wrong, "poll_interval_minutes") == "must be a whole number from 5 to 60"

    both = client.post(
        f"{path}/api-access",
        data=_form(token, api_key=new_key, remove="api_key"),
    )
    assert both.status_code == 422
    assert field_error(both, "api_key") == "type a new value or remove it, not both"
    assert new_key not in both.text
    assert _stored(container, tenant, tactical["id"]) == before


def test_others_get_no_form_and_their_posts_change_nothing(
    client: TestClient, tenant: TenantFixture, other_tenant: TenantFixture, container: Container
) -> None:
    ninja = make_integration(client, tenant, "ninjaone")
    path = f"/integrations/{ninja['id']}"
    admin_token = log_in(client, tenant.admin.email)
    data = _form(admin_token, api_base_url="https://eu.ninjarmm.com", client_secret=NINJA_SECRET)
    assert client.post(f"{path}/api-access", data=data, follow_redirects=False).status_code == 303
    saved = _stored(container, tenant, ninja["id"])
    without_token = {k: v for k, v in data.items() if k != "csrf_token"}
    for forged in (without_token, {**data, "csrf_token": "forged"}):
        refused = client.post(f"{path}/api-access", data={**forged, "client_secret": "forged"})
        assert refused.status_code == 403 and "CSRF" in refused.text
    client.cookies.clear()

    for who in (tenant.operator, tenant.readonly):
        token = log_in(client, who.email)
        page = client.get(path)
        assert f"{path}/api-access" not in forms(page)
        assert 'id="api-access"' in page.text and "Only admins change these." in page.text
        assert NINJA_SECRET not in page.text
        attempt = _form(token, api_base_url="https://evil.example", client_secret="theirs")
        assert client.post(f"{path}/api-access", data=attempt).status_code == 403
        client.cookies.clear()

    token = log_in(client, other_tenant.admin.email)
    attempt = _form(token, api_base_url="https://evil.example", client_secret="theirs")
    assert client.post(f"{path}/api-access", data=attempt).status_code == 404
    assert _stored(container, tenant, ninja["id"]) == saved

    generic = make_integration(client, other_tenant, "generic")
    assert 'id="api-access"' not in client.get(f"/integrations/{generic['id']}").text
    answer = client.post(f"/integrations/{generic['id']}/api-access", data=attempt)
    assert answer.status_code == 409 and "no API" in answer.text
