"""Ticket templates over HTTP: bounded output, and a failing template never costs the ticket."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from fleetward.adapters.storage import schema
from fleetward.bootstrap import Container
from tests.conftest import TenantFixture
from tests.integration.test_alert_rules_api import (
    RULES,
    new_client,
    new_integration,
    new_rule,
    stored,
    trigger,
)
from tests.support.api import assert_error

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

TENFOLD = "|replace(' ', '          ')"


def test_a_template_failing_at_render_opens_the_ticket_with_the_default_texts(
    client: TestClient, container: Container, tenant: TenantFixture
) -> None:
    integration_id, secret = new_integration(client, tenant, new_client(client, tenant))
    # Saved (its arguments are within the limits), but on this message each replace
    # multiplies the spaces by ten: past the render's budget at the third.
    new_rule(
        client,
        tenant,
        actions={
            "title_template": "{{ message" + TENFOLD * 4 + " }}",
            "description_template": "{{ severity < 1 }}",
        },
    )
    message = "a b " * 500
    hook = client.post(
        f"/api/v1/webhooks/{integration_id}",
        json=trigger(message=message),
        headers={"X-Fleetward-Token": secret},
    )
    assert hook.status_code == 200, hook.text
    assert hook.json()["result"] == "created"
    assert stored(container, schema.ticket.c.title, tenant.id) == [
        "Contoso web shop: Web shop is down"
    ]
    assert stored(container, schema.ticket.c.description, tenant.id) == [message]
    errors = stored(container, schema.alert.c.trace, tenant.id)[0]["template_errors"]
    assert [e.split(":")[0] for e in errors] == ["title_template", "description_template"]
    assert "characters of work" in errors[0]
    assert "TypeError" in errors[1]


def test_a_huge_device_name_gives_a_title_cut_at_255_characters(
    client: TestClient, container: Container, tenant: TenantFixture
) -> None:
    integration_id, secret = new_integration(client, tenant, new_client(client, tenant))
    refused = client.post(
        RULES,
        json={"name": "Wide", "actions": {"title_template": "{{ device|center('10000000'|int) }}"}},
        headers=tenant.admin.headers,
    )
    assert_error(refused, 422, "invalid", "actions.title_template")
    assert "literal arguments only" in refused.json()["error"]["message"]
    new_rule(
        client,
        tenant,
        actions={
            "title_template": "{{ device|center(200) }}: {{ title }}",
            "description_template": "{{ message }}\n{{ message }}",
        },
    )
    device = {"external_id": "srv-01", "name": "S" * 300_000}
    hook = client.post(
        f"/api/v1/webhooks/{integration_id}",
        json=trigger(device=device, message="m" * 40_000),
        headers={"X-Fleetward-Token": secret},
    )
    assert hook.status_code == 200, hook.text
    [title] = stored(container, schema.ticket.c.title, tenant.id)
    assert title == "S" * 254 + "…"
    [description] = stored(container, schema.ticket.c.description, tenant.id)
    assert len(description) == 65_536
    assert description.endswith("m…")
    assert "template_errors" not in stored(container, schema.alert.c.trace, tenant.id)[0]
