"""Helpers for tests that speak to the REST API: error shapes, the audit log, names."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
from fastapi.testclient import TestClient

from fleetward.bootstrap import Container

CROSS_TENANT = "security.cross_tenant_access"
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def assert_error(
    response: httpx.Response,
    status: int,
    code: str | None = None,
    field: str | None = None,
    field_in_message: bool = True,
) -> dict[str, Any]:
    """The response is the documented error: {"error": {"code", "message", "field"?}}.

    With `field`, the error names it as `field` and (unless told otherwise) in
    the message too, so a person reading only the message knows what to fix.
    """
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert list(body) == ["error"], body
    error: dict[str, Any] = body["error"]
    assert set(error) <= {"code", "message", "field"}, error
    assert isinstance(error["code"], str) and error["code"], error
    assert isinstance(error["message"], str) and error["message"], error
    if code is not None:
        assert error["code"] == code, error
    if field is not None:
        assert error.get("field") == field, error
        if field_in_message:
            assert field in error["message"], error
    return error


def error_shape(response: httpx.Response) -> tuple[int, dict[str, Any]]:
    """Status and body with ids blanked out, to compare two answers for a difference."""
    error = dict(response.json()["error"])
    error["message"] = UUID_RE.sub("<id>", error["message"])
    return response.status_code, error


def prober_view(response: httpx.Response) -> tuple[int, dict[str, str], str]:
    """All a caller can see of an answer, ids blanked: status, headers, body.

    The request id is random per request, so only its presence counts.
    """
    headers = {k: v for k, v in response.headers.items() if k not in {"x-request-id", "date"}}
    headers["x-request-id"] = "<id>" if "x-request-id" in response.headers else "none"
    return response.status_code, headers, UUID_RE.sub("<id>", response.text)


def cross_tenant_entries(client: TestClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    """The attempts on the tenant's objects in its admin's audit log, newest first.

    They are written off the request path: first wait until every attempt so far is.
    """
    drain_probes(client)
    return audit_entries(client, headers, action=CROSS_TENANT)


def drain_probes(client: TestClient) -> None:
    """Wait until every cross-tenant attempt made so far is recorded (or found to be none)."""
    container: Container = client.app.state.container
    container.probes.drain()


def audit_entries(
    client: httpx.Client, headers: dict[str, str], **filters: str
) -> list[dict[str, Any]]:
    """Every entry the caller's admin sees, newest first, across all pages."""
    entries: list[dict[str, Any]] = []
    params: dict[str, str | int] = {"limit": 500, **filters}
    while True:
        response = client.get("/api/v1/audit-log", params=params, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        entries += page["items"]
        if page["next"] is None:
            return entries
        params["cursor"] = page["next"]


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:8]}"
