"""Health, metrics, the API description, and answers for routes that do not exist."""

from __future__ import annotations

import re
import threading

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection

from fleetward.bootstrap import Container
from tests.conftest import TenantFixture
from tests.support.api import assert_error

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def test_healthz_answers_ok_without_credentials(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": {"read": True, "write": True, "reason": None},
    }


def _counter(text: str, method: str, route: str, status: int) -> float:
    pattern = (
        r"^fleetward_http_requests_total\{"
        rf'method="{method}",route="{re.escape(route)}",status="{status}"'
        r"\} (\S+)$"
    )
    found = re.search(pattern, text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


@sqlite_only
def test_metrics_count_requests_by_route_template_and_status(
    client: TestClient, tenant: TenantFixture
) -> None:
    h = tenant.admin.headers
    made = client.post("/api/v1/clients", json={"name": "Contoso"}, headers=h).json()
    for _ in range(2):
        client.get(f"/api/v1/clients/{made['id']}", headers=h)
    client.get("/api/v1/clients")
    client.post("/api/v1/clients", content=b"x" * (2 * 1024 * 1024), headers=h)

    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert "# TYPE fleetward_http_requests_total counter" in text
    assert _counter(text, "POST", "/api/v1/clients", 201) == 1
    # Ids do not make a series each: the route template is the label.
    assert _counter(text, "GET", "/api/v1/clients/{client_id}", 200) == 2
    assert made["id"] not in text
    assert _counter(text, "GET", "/api/v1/clients", 401) == 1
    # The size limit answers before routing, and is still counted.
    assert _counter(text, "POST", "unmatched", 413) == 1
    assert "fleetward_http_request_seconds_bucket" in text


def _write_queue_depth(client: TestClient) -> float:
    found = re.search(r"^fleetward_write_queue_depth (\S+)$", client.get("/metrics").text, re.M)
    assert found, "no write queue gauge on /metrics"
    return float(found.group(1))


@sqlite_only
def test_metrics_show_the_write_jobs_waiting_for_the_writer(
    client: TestClient, container: Container
) -> None:
    assert _write_queue_depth(client) == 0
    writers: list[threading.Thread] = []
    # While something holds SQLite's one writer, the first jobs to come make the
    # next batch (its leader waits for the lock); the ones after them queue.
    with container.db.write():
        while _write_queue_depth(client) == 0:
            assert len(writers) < 100, "no job ever showed as waiting"
            writer = threading.Thread(target=container.db.run_write, args=(_nothing,))
            writer.start()
            writers.append(writer)
    for writer in writers:
        writer.join(timeout=30)
    assert _write_queue_depth(client) == 0


def _nothing(_conn: Connection) -> None:
    return None


@sqlite_only
def test_the_api_describes_itself(client: TestClient) -> None:
    schema = client.get("/openapi.json")
    assert schema.status_code == 200
    body = schema.json()
    assert body["info"]["title"] == "Fleetward"
    assert "/api/v1/clients/{client_id}/sites" in body["paths"]
    assert "HTTPBearer" in body["components"]["securitySchemes"]

    docs = client.get("/docs")
    assert docs.status_code == 200
    assert docs.headers["content-type"].startswith("text/html")
    assert "/openapi.json" in docs.text


@sqlite_only
def test_unknown_routes_and_methods_answer_the_json_error_shape(
    client: TestClient, tenant: TenantFixture
) -> None:
    assert_error(client.get("/api/v1/nothing-here", headers=tenant.admin.headers), 404)
    wrong_method = client.put("/api/v1/clients", headers=tenant.admin.headers)
    assert_error(wrong_method, 405, "method_not_allowed")
    # The router's Allow header survives the JSON error handler.
    assert "GET" in wrong_method.headers["allow"]
