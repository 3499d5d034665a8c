"""Schema fuzzing: requests generated from the whole OpenAPI schema never get a 5xx.

Schemathesis builds valid requests and, on purpose, invalid ones (negative
data: wrong types, missing and extra fields, values outside the schema) for
every operation, and sends them as a tenant admin, so the real handlers run,
not only the 401 path. Half the time the path ids are those of real objects,
so updates and deletes reach the database too. On SQLite only: the engines
share every line above the repositories, and test_bad_input.py covers
PostgreSQL's own refusals (NUL in text).

Ledger line "schema fuzzing": load is the requests sent, bad_inputs those built
from negative data, server_errors the 5xx answers. `make test` tries a few
examples an operation, derandomized; `make verify` many more, with a fresh seed.
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
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance

from fleetward.bootstrap import build
from fleetward.config import Settings
from fleetward.entrypoints.http.app import create_app
from tests.conftest import TenantFixture
from tests.verify.ledger import Ledger, full_run, size


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
# Valid and invalid data both; said here so a change of default cannot drop negative data.
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
LINE = "schema fuzzing"


def test_the_fuzzer_generates_negative_data_too() -> None:
    assert GenerationMode.NEGATIVE in schema.config.generation.modes


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@schema.parametrize()
@schema.given(data=st.data())
@settings(
    max_examples=size(10, 100),
    derandomize=not full_run(),
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
    ledger: Ledger,
) -> None:
    if case.path_parameters and data.draw(st.booleans(), label="real ids"):
        case.path_parameters = {
            name: real_ids.get(name, value) for name, value in case.path_parameters.items()
        }
    response = case.call(headers=tenant.admin.headers, app=client.app)
    negative = case.meta is not None and case.meta.generation.mode is GenerationMode.NEGATIVE
    ledger.line(LINE).add(
        load=1, bad_inputs=int(negative), server_errors=int(response.status_code >= 500)
    )

    assert response.status_code < 500, (case.as_curl_command(), response.text[:500])
    if response.status_code >= 400:
        error = response.json()["error"]
        assert error["code"] and error["message"], error
    # Bodies match the models the schema documents for their status.
    case.validate_response(response, checks=[response_schema_conformance])
