"""Property-based: requests generated from the OpenAPI schema never get a 5xx.

Schemathesis builds valid and invalid requests for every operation of the
schema (wrong types, missing and extra fields, odd strings, bad ids) and sends
them as a tenant admin, so the real handlers run, not only the 401 path. Half
the time the path ids are those of real objects, so updates and deletes reach
the database too. Bounded and derandomized, on SQLite only: the engines share
every line above the repositories, and test_bad_input.py covers PostgreSQL's
own refusals (NUL in text).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import response_schema_conformance

from fleetward.bootstrap import build
from fleetward.config import Settings
from fleetward.entrypoints.http.app import create_app
from tests.conftest import TenantFixture


@pytest.fixture
def real_ids(client: TestClient, tenant: TenantFixture) -> dict[str, str]:
    """Objects a generated request may hit. The admin's own user and key are not among them,
    so no generated request can lock the test out."""
    h = tenant.admin.headers
    client_id = client.post("/api/v1/clients", json={"name": "Contoso"}, headers=h).json()["id"]
    site = client.post(f"/api/v1/clients/{client_id}/sites", json={"name": "HQ"}, headers=h)
    keys = client.get("/api/v1/api-keys", headers=tenant.operator.headers).json()["items"]
    return {
        "client_id": client_id,
        "site_id": site.json()["id"],
        "user_id": str(tenant.operator.user_id),
        "key_id": keys[0]["id"],
    }


def _openapi() -> dict[str, Any]:
    """The schema, from an app whose database is never opened: requests go to each test's app.

    Built at import because schemathesis parametrizes at collection; pytest 9 broke its
    fixture-based loader (schemathesis.pytest.from_fixture sets Node._nodeid).
    """
    with tempfile.TemporaryDirectory() as data_dir:
        container = build(Settings(database_url="sqlite:///:memory:", data_dir=Path(data_dir)))
        try:
            return create_app(container).openapi()
        finally:
            container.close()


schema = schemathesis.openapi.from_dict(_openapi())


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@schema.parametrize()
@schema.given(data=st.data())
@settings(
    max_examples=30,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)
def test_generated_requests_never_get_a_server_error(
    case: schemathesis.Case[Any],
    data: Any,
    client: TestClient,
    tenant: TenantFixture,
    real_ids: dict[str, str],
) -> None:
    if case.path_parameters and data.draw(st.booleans(), label="real ids"):
        case.path_parameters = {
            name: real_ids.get(name, value) for name, value in case.path_parameters.items()
        }
    response = case.call(headers=tenant.admin.headers, app=client.app)

    assert response.status_code < 500, (case.as_curl_command(), response.text[:500])
    if response.status_code >= 400:
        error = response.json()["error"]
        assert error["code"] and error["message"], error
    # Bodies match the models the schema documents for their status.
    case.validate_response(response, checks=[response_schema_conformance])
