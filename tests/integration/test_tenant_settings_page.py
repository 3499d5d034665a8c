"""The tenant settings page and the tickets' flapping badge in the dashboard."""

from __future__ import annotations

import html
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fleetward.bootstrap import Container
from fleetward.domain.rules import RuleActions
from tests.conftest import TenantFixture
from tests.integration.test_pages import alert, log_in
from tests.support.pipeline import add_rule, make_client, make_integration, post, tickets

pytestmark = pytest.mark.sqlite_only

FORM = {"reopen_window_minutes": "60", "flap_threshold": "5", "flap_window_minutes": "60"}


def test_an_admin_changes_the_settings_from_the_page(
    client: TestClient, tenant: TenantFixture
) -> None:
    token = log_in(client, tenant.admin.email)
    page = client.get("/settings")
    assert page.status_code == 200
    assert 'name="flap_threshold"' in page.text and 'value="5"' in page.text

    saved = client.post("/settings", data={**FORM, "flap_threshold": "3", "csrf_token": token})
    assert saved.status_code == 200 and "Tenant settings saved." in saved.text
    api = client.get("/api/v1/tenant/settings", headers=tenant.readonly.headers).json()
    assert api["flap_threshold"] == 3

    for name, value in (("reopen_window_minutes", "-5"), ("flap_window_minutes", "soon")):
        refused = client.post("/settings", data={**FORM, name: value, "csrf_token": token})
        assert refused.status_code == 422
        assert name in html.unescape(alert(refused))
        assert f'name="{name}"' in refused.text and 'aria-invalid="true"' in refused.text
        assert f'value="{value}"' in refused.text  # what was typed stays to be corrected
    assert client.get("/api/v1/tenant/settings", headers=tenant.readonly.headers).json() == {
        "reopen_window_minutes": 60,
        "flap_threshold": 3,
        "flap_window_minutes": 60,
    }


def test_others_see_the_values_without_a_form_and_may_not_post(
    client: TestClient, tenant: TenantFixture
) -> None:
    token = log_in(client, tenant.operator.email)
    page = client.get("/settings")
    assert page.status_code == 200
    assert '<form method="post" action="/settings"' not in page.text
    assert "more than 5 triggers" in page.text
    refused = client.post("/settings", data={**FORM, "flap_threshold": "2", "csrf_token": token})
    assert refused.status_code == 403
    assert (
        client.get("/api/v1/tenant/settings", headers=tenant.admin.headers).json()["flap_threshold"]
        == 5
    )


def test_a_flapping_ticket_shows_its_badge_in_the_list_and_on_its_page(
    client: TestClient, container: Container, tenant: TenantFixture
) -> None:
    client_id = make_client(client, tenant, "Contoso")
    integration = make_integration(client, tenant, "generic", {"default_client_id": client_id})
    add_rule(container, tenant.id, actions=RuleActions(auto_resolve_ticket=True))
    threshold = {"flap_threshold": 1}
    client.patch("/api/v1/tenant/settings", json=threshold, headers=tenant.admin.headers)

    def send(kind: str, n: int) -> None:
        body: dict[str, Any] = {
            "kind": kind,
            "external_alert_id": f"{kind}-{n}",
            "series_key": f"series-{n}",
            "device": {"external_id": "srv-1", "name": "Server One"},
            "severity": "critical",
            "title": "Link down",
            "message": "WAN link down",
            "occurred_at": "2026-01-05T10:00:00Z",
        }
        assert post(client, integration, body).status_code == 200

    log_in(client, tenant.readonly.email)
    send("triggered", 1)
    assert "badge-flapping" not in client.get("/tickets").text
    send("reset", 1)
    send("triggered", 2)  # the second trigger within the window: flapping
    (ticket,) = tickets(container, tenant.id)
    listed = client.get("/tickets")
    assert ">flapping</span>" in listed.text
    assert ">flapping</span>" in client.get(f"/tickets/{ticket.id}").text
