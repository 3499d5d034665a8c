"""The webhook's short path (app.WebhookShortPath) is inside every app-wide concern:
the body-size limit, the metrics under the route's template, the request id and
the access-log line."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from structlog.testing import capture_logs

from fleetward.bootstrap import Container
from tests.conftest import TenantFixture
from tests.support.pipeline import add_rule, make_client, make_integration, post, sample

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
ROUTE = "/api/v1/webhooks/{integration_id}"


@pytest.fixture
def generic(client: TestClient, tenant: TenantFixture, container: Container) -> dict[str, Any]:
    client_id = make_client(client, tenant)
    add_rule(container, tenant.id)
    return make_integration(client, tenant, "generic", {"default_client_id": client_id})


def _counter(client: TestClient, status: int) -> float:
    pattern = (
        r'^fleetward_http_requests_total\{method="POST",route="'
        + re.escape(ROUTE)
        + rf'",status="{status}"\}} (\S+)$'
    )
    found = re.search(pattern, client.get("/metrics").text, re.M)
    return float(found.group(1)) if found else 0.0


def test_a_streamed_body_over_the_limit_is_413_on_the_short_path(
    client: TestClient, generic: dict[str, Any]
) -> None:
    """No Content-Length to refuse by: the size limit counts what the short path reads."""

    def chunks() -> Iterator[bytes]:
        yield b'{"pad": "'
        for _ in range(4):
            yield b"x" * (512 * 1024)
        yield b'"}'

    answer = client.post(
        urlsplit(generic["webhook_url"]).path,
        content=chunks(),
        headers={"X-Fleetward-Token": generic["webhook_secret"]},
    )
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "too_large"


def test_deliveries_are_counted_under_the_route_template_with_a_request_id_and_log_line(
    client: TestClient, generic: dict[str, Any]
) -> None:
    with capture_logs() as logged:
        created = post(client, generic, sample("generic", "trigger"))
        refused = post(client, {**generic, "webhook_secret": "wrong"}, sample("generic", "trigger"))
    assert (created.status_code, refused.status_code) == (200, 401)
    assert _counter(client, 200) == 1
    assert _counter(client, 401) == 1
    assert generic["id"] not in client.get("/metrics").text  # ids make no series
    lines = [e for e in logged if e["event"] == "request" and e["route"] == ROUTE]
    assert [line["status"] for line in lines] == [200, 401]
    assert [line["request_id"] for line in lines] == [
        created.headers["x-request-id"],
        refused.headers["x-request-id"],
    ]
