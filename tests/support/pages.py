"""Helpers of the dashboard page tests: a generic trigger, API calls as the admin,
a small pipeline to show, and what a page's HTML holds (forms, field errors, flash).
"""

from __future__ import annotations

import html
import re
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response

from tests.conftest import TenantFixture
from tests.support.pipeline import make_client, make_integration, post


def trigger(alert_id: str = "a1", **fields: Any) -> dict[str, Any]:
    """A generic trigger (docs/providers/generic.md)."""
    body: dict[str, Any] = {
        "kind": "triggered",
        "external_alert_id": alert_id,
        "device": {"external_id": "srv-1", "name": "Server One"},
        "severity": "critical",
        "title": "Disk C: full",
        "message": "Disk C: is 99% full",
        "occurred_at": "2026-01-05T10:00:00Z",
    }
    body.update(fields)
    return body


def api(client: TestClient, tenant: TenantFixture, method: str, path: str, **kw: Any) -> Any:
    response = client.request(method, path, headers=tenant.admin.headers, **kw)
    assert response.status_code < 300, response.text
    return response.json() if response.content else None


def setup_pipeline(
    client: TestClient, tenant: TenantFixture, title: str = "Disk C: full"
) -> dict[str, Any]:
    """A client, a generic integration defaulting to it, a catch-all rule, one alert."""
    client_id = make_client(client, tenant, "Contoso")
    integration = make_integration(client, tenant, "generic", {"default_client_id": client_id})
    rule = api(client, tenant, "POST", "/api/v1/alert-rules", json={"name": "Catch all"})
    answer = post(client, integration, trigger(title=title))
    assert answer.status_code == 200, answer.text
    alert_id = answer.json()["alert_id"]
    alert = api(client, tenant, "GET", f"/api/v1/alerts/{alert_id}")
    return {"client_id": client_id, "integration": integration, "rule": rule, "alert": alert}


def find(pattern: str, text: str) -> str:
    found = re.search(pattern, text)
    assert found, f"{pattern!r} not found"
    return found.group(1)


def forms(page: Response) -> list[str]:
    """The actions of the page's post forms, leaving out the log-out button."""
    return [
        a for a in re.findall(r'<form method="post" action="([^"]+)"', page.text) if a != "/logout"
    ]


def field_error(page: Response, name: str) -> str:
    found = re.search(rf'<p class="field-error" id="{name}-error">([^<]*)</p>', page.text)
    return html.unescape(found.group(1)) if found else ""


def flash(page: Response) -> str:
    found = re.search(r'<p class="notice notice-ok" role="status">([^<]*)</p>', page.text)
    return html.unescape(found.group(1)) if found else ""
