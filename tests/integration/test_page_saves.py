"""Saving a settings form on the dashboard opens the list at what was saved."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import TenantFixture
from tests.integration.test_agent_pages import WATCH_FORM
from tests.integration.test_pages import log_in
from tests.support.pages import api

WINDOW_FORM = {
    "name": "Patch night",
    "kind": "once",
    "starts_at": "2026-01-01T00:00",
    "ends_at": "2026-01-02T00:00",
}
RULE_FORM = {"name": "Catch all", "active": "on", "create_ticket": "on"}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("page", "api_path", "anchor", "form"),
    [
        ("/watches", "/api/v1/event-log-watches", "watch", WATCH_FORM),
        ("/maintenance", "/api/v1/maintenance-windows", "window", WINDOW_FORM),
        ("/rules", "/api/v1/alert-rules", "rule", RULE_FORM),
    ],
)
def test_a_created_and_an_edited_object_open_the_list_at_it(
    client: TestClient,
    tenant: TenantFixture,
    page: str,
    api_path: str,
    anchor: str,
    form: dict[str, str],
) -> None:
    csrf = log_in(client, tenant.admin.email)
    create = "/rules/new" if page == "/rules" else page
    made = client.post(create, data={**form, "csrf_token": csrf}, follow_redirects=False)
    (saved,) = api(client, tenant, "GET", api_path)["items"]
    assert (made.status_code, made.headers["location"]) == (303, f"{page}#{anchor}-{saved['id']}")

    edit = f"{page}/{saved['id']}/edit"
    again = client.post(edit, data={**form, "csrf_token": csrf}, follow_redirects=False)
    assert (again.status_code, again.headers["location"]) == (303, made.headers["location"])

    refused = client.post(edit, data={**form, "name": "", "csrf_token": csrf})
    assert refused.status_code == 422
    assert 'aria-invalid="true"' in refused.text and "not saved" in refused.text
