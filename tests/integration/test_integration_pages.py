"""The integrations' pages over HTTP: Tactical's documented templates, the secret shown
once and rotated, mappings, devices and dead letters.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from fleetward.entrypoints.http.pages.integrations import (
    TACTICAL_RESOLVED_BODY,
    TACTICAL_TRIGGER_BODY,
)
from tests.conftest import TenantFixture
from tests.integration.test_pages import log_in
from tests.support.pages import api, find, flash, trigger
from tests.support.pipeline import make_client, make_integration, post

# Pages and agent processes do not depend on the engine: SQLite only (the storage
# contract runs on both engines in the repository and API tests).
pytestmark = pytest.mark.sqlite_only

DOCS = Path(__file__).resolve().parents[2] / "docs"


def doc_templates() -> list[str]:
    """The JSON bodies in docs/providers/tacticalrmm.md that carry an `event`."""
    text = (DOCS / "providers" / "tacticalrmm.md").read_text()
    blocks = re.findall(r"```json\n(.*?)\n```", text, re.S)
    return [b for b in blocks if '"event"' in b]


def test_tactical_templates_on_the_page_are_the_documented_ones() -> None:
    assert doc_templates() == [TACTICAL_TRIGGER_BODY, TACTICAL_RESOLVED_BODY]


def test_creating_an_integration_shows_its_secret_once(
    client: TestClient, tenant: TenantFixture
) -> None:
    client_id = make_client(client, tenant, "Contoso")
    token = log_in(client, tenant.admin.email)
    no_provider = client.post(
        "/integrations", data={"name": "X", "provider": "", "csrf_token": token}
    )
    assert no_provider.status_code == 422
    assert "choose a provider" in no_provider.text

    created = client.post(
        "/integrations",
        data={
            "provider": "tacticalrmm",
            "name": "Tactical",
            "default_client_id": client_id,
            "csrf_token": token,
        },
    )
    assert created.status_code == 200
    url = find(r'id="webhook-url" [^>]*value="([^"]+)"', created.text)
    secret = find(r'id="webhook-secret" [^>]*value="([^"]+)"', created.text)
    assert url.startswith("http://testserver/api/v1/webhooks/")
    assert secret.startswith("fwh_")
    shown = [
        html.unescape(b)
        for b in re.findall(
            r'data-testid="tactical-(?:trigger|resolved)">(.*?)</pre>', created.text, re.S
        )
    ]
    assert shown == doc_templates()
    assert f'"X-Fleetward-Token": "{secret}"' in html.unescape(created.text)

    integration_id = url.rsplit("/", 1)[1]
    detail = client.get(f"/integrations/{integration_id}")
    assert secret not in detail.text
    assert "Contoso" in detail.text
    # The templates are on the integration's page too, with a placeholder for the secret.
    assert '"X-Fleetward-Token": "&lt;webhook secret&gt;"' in detail.text
    assert 'data-testid="tactical-trigger"' in detail.text
    # The secret shown is the one that works.
    ok = client.post(
        f"/api/v1/webhooks/{integration_id}",
        json={"event": "trigger"},
        headers={"X-Fleetward-Token": secret},
    )
    assert ok.status_code == 400  # authenticated; the body lacks fields

    rotated = client.post(
        f"/integrations/{integration_id}/rotate-secret", data={"csrf_token": token}
    )
    new_secret = find(r'id="webhook-secret" [^>]*value="([^"]+)"', rotated.text)
    assert new_secret.startswith("fwh_") and new_secret != secret
    assert "only this once" in rotated.text
    assert new_secret not in client.get(f"/integrations/{integration_id}").text


def test_a_rotated_secret_takes_effect_at_once(client: TestClient, tenant: TenantFixture) -> None:
    integration = make_integration(client, tenant, "generic")
    assert post(client, integration, {}).status_code == 400  # accepted secret, cached
    token = log_in(client, tenant.admin.email)
    rotated = client.post(
        f"/integrations/{integration['id']}/rotate-secret", data={"csrf_token": token}
    )
    new_secret = find(r'id="webhook-secret" [^>]*value="([^"]+)"', rotated.text)
    assert post(client, integration, {}).status_code == 401
    assert post(client, {**integration, "webhook_secret": new_secret}, {}).status_code == 400


def test_mappings_devices_and_dead_letters(client: TestClient, tenant: TenantFixture) -> None:
    contoso = make_client(client, tenant, "Contoso")
    fabrikam = make_client(client, tenant, "Fabrikam")
    integration = make_integration(client, tenant, "generic")
    iid = integration["id"]
    token = log_in(client, tenant.admin.email)

    mapped = client.post(
        f"/integrations/{iid}/mappings",
        data={"external_org_id": "org-7", "client_id": contoso, "csrf_token": token},
    )
    assert flash(mapped) == "Organisation “org-7” mapped."
    again = client.post(
        f"/integrations/{iid}/mappings",
        data={"external_org_id": "org-7", "client_id": fabrikam, "csrf_token": token},
    )
    assert again.status_code == 409
    assert "mapped already" in again.text

    device = {"external_id": "srv-9", "name": "Nine", "external_org_id": "org-7"}
    assert post(client, integration, trigger("t1", device=device)).status_code == 200
    refused = post(client, integration, {"kind": "triggered"})
    assert refused.status_code == 400

    page = client.get(f"/integrations/{iid}")
    asset_id = find(rf'action="/integrations/{iid}/assets/([0-9a-f-]+)"', page.text)
    assigned = client.post(
        f"/integrations/{iid}/assets/{asset_id}", data={"client_id": fabrikam, "csrf_token": token}
    )
    assert flash(assigned) == "Device “Nine” now follows the chosen client."
    asset = api(client, tenant, "GET", f"/api/v1/integrations/{iid}/assets")["items"][0]
    assert asset["client_id"] == fabrikam

    letter_id = find(rf'action="/integrations/{iid}/dead-letters/([0-9a-f-]+)/replay"', page.text)
    assert "missing field" in html.unescape(page.text) or "external_alert_id" in page.text
    replayed = client.post(
        f"/integrations/{iid}/dead-letters/{letter_id}/replay", data={"csrf_token": token}
    )
    assert flash(replayed).startswith("Replayed: failed (")

    mapping_id = find(rf'action="/integrations/{iid}/mappings/([0-9a-f-]+)/delete"', page.text)
    deleted = client.post(
        f"/integrations/{iid}/mappings/{mapping_id}/delete", data={"csrf_token": token}
    )
    assert flash(deleted) == "Mapping deleted."
    mappings = deleted.text.split('id="mappings"')[1].split('id="assets"')[0]
    assert "org-7" not in mappings and "No mappings." in mappings
