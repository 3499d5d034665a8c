"""axe-core on every dashboard page, in the real Chromium: no serious or critical violation.

The pages are every GET route of the dashboard's router (a new page is checked
without being listed here); the objects their paths name are made through the
API first, so every detail page renders what a person would see. A path naming
an id this file cannot make fails the test, saying which: add it to `_objects`.
axe-core is vendored for the tests only (tests/support/vendor/axe-core, MPL-2.0).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
from fastapi.routing import APIRoute
from playwright.sync_api import Browser, BrowserContext, Page

from fleetward.entrypoints.http.pages import router as pages
from fleetward.entrypoints.http.pages.common import PageRoute
from tests.e2e.conftest import TIMEOUT_MS, LiveServer, log_in
from tests.support.pipeline import sample

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[1] / "support" / "vendor" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")
SCHEMES: tuple[Literal["light", "dark"], ...] = ("light", "dark")
_PARAMS = re.compile(r"{(\w+)}")
# Nodes shown per violation: enough to find the element, short enough to read.
SHOWN_NODES = 3


def _routes(routes: list[Any]) -> Iterator[APIRoute]:
    """Every route, through routers included in routers (FastAPI keeps them nested)."""
    for route in routes:
        original = getattr(route, "original_router", None)
        if original is not None:
            yield from _routes(original.routes)
        elif isinstance(route, APIRoute):
            yield route


def page_paths() -> list[str]:
    """The dashboard's GET pages, as path templates, in the router's order."""
    found = [
        route.path
        for route in _routes(pages.router.routes)
        if isinstance(route, PageRoute) and "GET" in route.methods
    ]
    return list(dict.fromkeys(found))


def _created(api: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = api.post(path, json=body)
    assert answer.status_code in (200, 201), (path, answer.status_code, answer.text)
    made: dict[str, Any] = answer.json()
    return made


def _objects(server: LiveServer) -> dict[str, str]:
    """One real object of each kind a page path names, made through the API."""
    tag = uuid.uuid4().hex[:6]
    headers = {"Authorization": f"Bearer {server.tenant.admin.key}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as api:
        client = _created(api, "/api/v1/clients", {"name": f"Axe {tag}", "notes": "Key account"})
        site = _created(api, f"/api/v1/clients/{client['id']}/sites", {"name": "HQ"})
        integration = _created(
            api,
            "/api/v1/integrations",
            {
                "provider": "ninjaone",
                "name": f"NinjaOne {tag}",
                "settings": {"default_client_id": client["id"]},
            },
        )
        trigger = sample("ninjaone", "condition_triggered")
        trigger["id"] = int(uuid.uuid4().int % 10**9)
        delivered = api.post(
            f"/api/v1/webhooks/{integration['id']}",
            json=trigger,
            headers={"X-Fleetward-Token": integration["webhook_secret"]},
        )
        assert delivered.status_code == 200, delivered.text
        alert_id = delivered.json()["alert_id"]
        alert = api.get(f"/api/v1/alerts/{alert_id}").json()
        ticket = _created(api, "/api/v1/tickets", {"title": f"Printer jam {tag}"})
        rule = _created(api, "/api/v1/alert-rules", {"name": f"Everything {tag}"})
        window = _created(
            api,
            "/api/v1/maintenance-windows",
            {
                "name": f"Patch night {tag}",
                "client_id": client["id"],
                "starts_at": "2030-01-01T22:00:00Z",
                "ends_at": "2030-01-01T23:00:00Z",
            },
        )
        token = _created(api, "/api/v1/enrollment-tokens", {"site_id": site["id"]})
        enrolled = httpx.post(
            f"{server.url}/api/v1/agent/enroll",
            json={
                "token": token["token"],
                "hostname": f"WS-{tag}",
                "os": "Windows 11",
                "agent_version": "0.1.0",
            },
            timeout=30,
        )
        assert enrolled.status_code == 201, enrolled.text
        watch = _created(
            api,
            "/api/v1/event-log-watches",
            {
                "name": f"Failed logons {tag}",
                "scope": {"type": "tenant"},
                "log_name": "Security",
                "event_ids": [4625],
            },
        )
        subscription = _created(
            api,
            "/api/v1/webhook-subscriptions",
            {"url": "https://automation.example/hook", "events": ["*"]},
        )
    assert alert["asset_id"], alert
    return {
        "client_id": client["id"],
        "site_id": site["id"],
        "integration_id": integration["id"],
        "alert_id": alert_id,
        "asset_id": alert["asset_id"],
        "ticket_id": ticket["id"],
        "rule_id": rule["id"],
        "window_id": window["id"],
        "agent_id": enrolled.json()["agent_id"],
        "watch_id": watch["id"],
        "subscription_id": subscription["id"],
    }


@pytest.fixture(scope="module")
def ids(live_server: LiveServer) -> dict[str, str]:
    return _objects(live_server)


@pytest.fixture(scope="module")
def signed_in(browser: Browser, live_server: LiveServer) -> Iterator[BrowserContext]:
    """An admin's browser (every page open to them). The pages' CSP forbids inline
    scripts, axe's included: the test's context may bypass it, the app's may not."""
    ctx = browser.new_context(base_url=live_server.url, bypass_csp=True)
    ctx.set_default_timeout(TIMEOUT_MS)
    page = ctx.new_page()
    log_in(page, live_server.tenant.admin.email)
    page.wait_for_url(re.compile(r"^(?!.*/login)"))
    page.close()
    yield ctx
    ctx.close()


def fill(template: str, ids: dict[str, str]) -> str:
    missing = [name for name in _PARAMS.findall(template) if name not in ids]
    if missing:
        pytest.fail(f"{template}: no object for {', '.join(missing)}; make one in _objects()")
    return _PARAMS.sub(lambda m: ids[m.group(1)], template)


def blocking_violations(page: Page, inject: bool = True) -> list[dict[str, Any]]:
    if inject:
        page.add_script_tag(path=str(AXE))
    violations: list[dict[str, Any]] = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
    )
    return [v for v in violations if v.get("impact") in BLOCKING]


def describe(path: str, violations: list[dict[str, Any]]) -> str:
    """The violations as a person fixing them wants to read them."""
    lines = [f"{path}: {len(violations)} serious or critical accessibility violation(s)"]
    for violation in violations:
        lines.append(f"- [{violation['impact']}] {violation['id']}: {violation['help']}")
        lines.append(f"  {violation['helpUrl']}")
        for node in violation["nodes"][:SHOWN_NODES]:
            lines.append(f"  at {json.dumps(node['target'])}: {node['html'][:200]}")
            summary = " ".join(str(node.get("failureSummary", "")).split())
            lines.append(f"     {summary[:400]}")
        hidden = len(violation["nodes"]) - SHOWN_NODES
        if hidden > 0:
            lines.append(f"  ... and {hidden} more element(s)")
    return "\n".join(lines)


def test_the_dashboard_has_pages_to_check() -> None:
    paths = page_paths()
    assert "/login" in paths and "/alerts/{alert_id}" in paths, paths


def test_the_login_page_has_no_serious_violation(browser: Browser, live_server: LiveServer) -> None:
    ctx = browser.new_context(base_url=live_server.url, bypass_csp=True)
    try:
        page = ctx.new_page()
        page.goto("/login")
        found = blocking_violations(page)
    finally:
        ctx.close()
    assert not found, describe("/login", found)


@pytest.mark.parametrize("template", [p for p in page_paths() if p != "/login"])
def test_a_page_has_no_serious_violation_in_light_or_dark_mode(
    signed_in: BrowserContext, ids: dict[str, str], template: str
) -> None:
    """One load per page, checked in both colour schemes: switching the emulated
    scheme restyles the page in place, so the second run needs no second load."""
    path = fill(template, ids)
    page = signed_in.new_page()
    found: dict[str, list[dict[str, Any]]] = {}
    try:
        page.emulate_media(color_scheme="light")
        answer = page.goto(path)
        assert answer is not None and answer.ok, (path, answer and answer.status)
        page.add_script_tag(path=str(AXE))
        for scheme in SCHEMES:
            page.emulate_media(color_scheme=scheme)
            found[scheme] = blocking_violations(page, inject=False)
    finally:
        page.close()
    problems = [describe(f"{path} ({scheme})", v) for scheme, v in found.items() if v]
    assert not problems, "\n".join(problems)
