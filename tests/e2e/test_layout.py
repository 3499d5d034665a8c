"""The dashboard everywhere: a phone's width, dark mode, /docs offline, the keyboard.

Every page the dashboard serves (enumerated from the page routers, so a new page
is checked too) is opened at 390 px with a real object of each kind behind it,
made through the API; none may be wider than the screen.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect

from fleetward.entrypoints.http.pages.common import PageRoute
from fleetward.entrypoints.http.pages.router import AREAS
from tests.e2e.conftest import TIMEOUT_MS, LiveServer, log_in

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
LONG = "with a long name that a narrow screen must fold or scroll rather than overflow"


def unique(prefix: str) -> str:
    # The server and its database last the whole session: names must not collide.
    return f"{prefix} {uuid.uuid4().hex[:6]}"


def api(live_server: LiveServer, method: str, path: str, **kw: Any) -> Any:
    headers = kw.pop("headers", live_server.tenant.admin.headers)
    response = httpx.request(method, live_server.url + path, headers=headers, timeout=10, **kw)
    assert response.status_code < 300, response.text
    return response.json() if response.content else None


@pytest.fixture(scope="module")
def objects(live_server: LiveServer) -> dict[str, str]:
    """One object of every kind a page is about, by the name of its path parameter."""
    client = api(live_server, "POST", "/api/v1/clients", json={"name": unique(f"Client {LONG}")})
    site = api(live_server, "POST", f"/api/v1/clients/{client['id']}/sites", json={"name": "HQ"})
    token = api(live_server, "POST", "/api/v1/enrollment-tokens", json={"site_id": site["id"]})
    enrolment = {
        "token": token["token"],
        "hostname": unique("WS-LAYOUT").replace(" ", "-"),
        "os": "Windows 11 Pro",
        "agent_version": "0.1.0",
    }
    agent = api(live_server, "POST", "/api/v1/agent/enroll", json=enrolment, headers={})
    integration = api(
        live_server,
        "POST",
        "/api/v1/integrations",
        json={
            "provider": "generic",
            "name": unique("Uptime"),
            "settings": {"default_client_id": client["id"]},
        },
    )
    rule = api(
        live_server,
        "POST",
        "/api/v1/alert-rules",
        json={"name": unique("Layout rule"), "conditions": {"client_ids": [client["id"]]}},
    )
    trigger = {
        "kind": "triggered",
        "external_alert_id": unique("layout").replace(" ", "-"),
        "device": {"external_id": "srv-layout", "name": f"Server {LONG}"},
        "severity": "critical",
        "title": unique(f"Disk C: full on a server {LONG}"),
        "message": "Disk C: is 99% full " + "x" * 300,
        "occurred_at": datetime.now(UTC).isoformat(),
    }
    answer = httpx.post(
        live_server.url + urlsplit(integration["webhook_url"]).path,
        json=trigger,
        headers={"X-Fleetward-Token": integration["webhook_secret"]},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    alert = api(live_server, "GET", f"/api/v1/alerts/{answer.json()['alert_id']}")
    assert alert["ticket_id"] and alert["asset_id"], alert
    start = datetime.now(UTC) + timedelta(days=1)
    window = api(
        live_server,
        "POST",
        "/api/v1/maintenance-windows",
        json={
            "name": unique(f"Window {LONG}"),
            "client_id": client["id"],
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=2)).isoformat(),
        },
    )
    watch = api(
        live_server,
        "POST",
        "/api/v1/event-log-watches",
        json={"name": unique("Failed logons"), "scope": {"type": "tenant"}, "log_name": "System"},
    )
    subscription = api(
        live_server,
        "POST",
        "/api/v1/webhook-subscriptions",
        json={"url": "https://hooks.example.com/fleetward", "events": ["*"]},
    )
    return {
        "client_id": client["id"],
        "site_id": site["id"],
        "token_id": token["id"],
        "user_id": str(live_server.tenant.operator.user_id),
        "asset_id": alert["asset_id"],
        "alert_id": alert["id"],
        "ticket_id": alert["ticket_id"],
        "rule_id": rule["id"],
        "window_id": window["id"],
        "integration_id": integration["id"],
        "agent_id": agent["agent_id"],
        "watch_id": watch["id"],
        "subscription_id": subscription["id"],
    }


def page_paths(objects: dict[str, str]) -> list[str]:
    """Every GET page of the dashboard, its path parameters filled with real objects."""
    paths = []
    for area in AREAS:
        for route in area.routes:
            if not isinstance(route, PageRoute) or "GET" not in route.methods:
                continue
            wanted = set(re.findall(r"{(\w+)}", route.path)) - set(objects)
            assert not wanted, f"{route.path}: make an object for {wanted} in objects()"
            paths.append(route.path.format(**objects))
    return paths


def context_for(browser: Browser, live_server: LiveServer, **options: Any) -> BrowserContext:
    ctx = browser.new_context(base_url=live_server.url, **options)
    ctx.set_default_timeout(TIMEOUT_MS)
    return ctx


def document_width(page: Page) -> int:
    width: int = page.evaluate("document.documentElement.scrollWidth")
    return width


def test_no_page_is_wider_than_a_phone(
    browser: Browser, live_server: LiveServer, objects: dict[str, str]
) -> None:
    paths = page_paths(objects)
    assert len(paths) >= 30, paths  # the enumeration found the pages
    ctx = context_for(browser, live_server, viewport=PHONE)
    try:
        page = ctx.new_page()
        too_wide = {}
        page.goto("/login")
        if document_width(page) > PHONE["width"]:
            too_wide["/login"] = document_width(page)
        log_in(page, live_server.tenant.admin.email, path="")
        page.wait_for_url(lambda url: "/login" not in url)
        for path in [*paths, "/nope"]:
            response = page.goto(path)
            assert response is not None
            expected = 404 if path == "/nope" else 200
            assert response.status == expected, f"{path}: {response.status}"
            if document_width(page) > PHONE["width"]:
                too_wide[path] = document_width(page)
                page.screenshot(path=f"/tmp/too-wide{path.replace('/', '_')}.png")
        assert not too_wide, f"pages wider than {PHONE['width']} px: {too_wide}"
    finally:
        ctx.close()


def test_the_menu_button_opens_the_navigation_on_a_phone(
    browser: Browser, live_server: LiveServer
) -> None:
    ctx = context_for(browser, live_server, viewport=PHONE)
    try:
        page = ctx.new_page()
        log_in(page, live_server.tenant.operator.email)
        nav = page.get_by_role("navigation", name="Main")
        menu = page.get_by_role("button", name="Menu")
        expect(menu).to_have_attribute("aria-expanded", "false")
        expect(menu).to_have_attribute("aria-controls", "main-nav")
        expect(nav.get_by_role("link", name="Tickets")).to_be_hidden()

        menu.click()
        expect(menu).to_have_attribute("aria-expanded", "true")
        expect(nav.get_by_role("link", name="Tickets")).to_be_visible()
        assert document_width(page) <= PHONE["width"]
        page.keyboard.press("Escape")
        expect(menu).to_have_attribute("aria-expanded", "false")
        expect(nav.get_by_role("link", name="Tickets")).to_be_hidden()

        menu.click()
        nav.get_by_role("link", name="Tickets").click()
        expect(page).to_have_url(re.compile(r"/tickets$"))
    finally:
        ctx.close()


def test_without_javascript_the_navigation_wraps_on_a_phone(
    browser: Browser, live_server: LiveServer
) -> None:
    ctx = context_for(browser, live_server, viewport=PHONE, java_script_enabled=False)
    try:
        page = ctx.new_page()
        log_in(page, live_server.tenant.operator.email)
        expect(page.get_by_role("button", name="Menu")).to_be_hidden()
        nav = page.get_by_role("navigation", name="Main")
        expect(nav.get_by_role("link", name="Log watches")).to_be_visible()
        assert document_width(page) <= PHONE["width"]
    finally:
        ctx.close()


def luminance(css_colour: str) -> float:
    red, green, blue = (int(part) for part in re.findall(r"\d+", css_colour)[:3])
    return (0.2126 * red + 0.7152 * green + 0.0722 * blue) / 255


def test_dark_mode_follows_the_system_setting(browser: Browser, live_server: LiveServer) -> None:
    seen = {}
    for scheme in ("light", "dark"):
        ctx = context_for(browser, live_server, color_scheme=scheme)
        try:
            page = ctx.new_page()
            log_in(page, live_server.tenant.operator.email)
            page.goto("/alerts")
            seen[scheme] = page.evaluate(
                """() => {
                  const style = (el) => getComputedStyle(el);
                  const card = document.querySelector('.card');
                  return {
                    body: style(document.body).backgroundColor,
                    text: style(document.body).color,
                    card: style(card).backgroundColor,
                    input: style(document.querySelector('main select, main input')).backgroundColor,
                  };
                }"""
            )
            page.screenshot(path=f"/tmp/alerts-{scheme}.png", full_page=True)
        finally:
            ctx.close()
    light, dark = seen["light"], seen["dark"]
    assert luminance(light["body"]) > 0.8 and luminance(light["text"]) < 0.3, light
    assert luminance(dark["body"]) < 0.15, dark
    assert luminance(dark["card"]) < 0.2 and luminance(dark["input"]) < 0.2, dark
    assert luminance(dark["text"]) > 0.8, dark


def test_the_api_docs_render_with_the_network_cut(
    browser: Browser, live_server: LiveServer
) -> None:
    host = urlsplit(live_server.url).hostname
    ctx = context_for(browser, live_server)
    left_the_host: list[str] = []
    refused_by_policy: list[str] = []

    def only_this_host(route: Route) -> None:
        if urlsplit(route.request.url).hostname == host:
            route.continue_()
        else:
            left_the_host.append(route.request.url)
            route.abort("internetdisconnected")

    try:
        ctx.route("**/*", only_this_host)
        page = ctx.new_page()
        page.on(
            "console",
            lambda message: (
                refused_by_policy.append(message.text)
                if "Content Security Policy" in message.text
                else None
            ),
        )
        response = page.goto("/docs")
        assert response is not None and response.status == 200
        policy = response.headers["content-security-policy"]
        assert "script-src 'self' 'nonce-" in policy and "unsafe-inline" not in policy
        # Parsing 1.5 MB of Swagger UI takes seconds on a loaded 2-core machine.
        expect(page.locator(".swagger-ui .information-container")).to_contain_text(
            "Fleetward", timeout=30_000
        )
        expect(page.locator(".opblock").first).to_be_visible()
        expect(page.get_by_text("/api/v1/alerts").first).to_be_visible()
        page.screenshot(path="/tmp/api-docs.png")
    finally:
        ctx.close()
    assert left_the_host == []
    assert refused_by_policy == []


def focused(page: Page) -> dict[str, str]:
    found: dict[str, str] = page.evaluate(
        "() => ({id: document.activeElement.id, text: document.activeElement.textContent.trim()})"
    )
    return found


def test_the_skip_link_and_the_shortcuts_work_by_keyboard(
    page: Page, live_server: LiveServer
) -> None:
    log_in(page, live_server.tenant.operator.email)
    page.goto("/alerts")
    page.keyboard.press("Tab")
    assert focused(page)["text"] == "Skip to content"
    expect(page.get_by_role("link", name="Skip to content")).to_be_visible()
    page.keyboard.press("Enter")
    assert focused(page)["id"] == "main"

    shortcuts = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(shortcuts).to_be_hidden()
    page.keyboard.press("?")
    expect(shortcuts).to_be_visible()
    expect(shortcuts).to_contain_text("Go to tickets")
    page.keyboard.press("Escape")
    expect(shortcuts).to_be_hidden()
    page.get_by_role("button", name="Keyboard shortcuts").click()
    expect(shortcuts).to_be_visible()
    shortcuts.get_by_role("button", name="Close").click()
    expect(shortcuts).to_be_hidden()

    # While typing in a field, the keys are text, not shortcuts.
    page.goto("/clients")
    field = page.locator("#new-name")
    field.click()
    field.press_sequentially("g t ?/")
    expect(field).to_have_value("g t ?/")
    expect(shortcuts).to_be_hidden()
    assert urlsplit(page.url).path == "/clients"

    # "/" goes to the global search box (the top bar's; a stand-in where it is missing).
    page.locator("main h1").first.click()
    if page.locator("#global-search").count() == 0:
        page.evaluate(
            "() => document.querySelector('.topbar').insertAdjacentHTML("
            "'beforeend', '<input id=\"global-search\" aria-label=\"Search\">')"
        )
    page.keyboard.press("/")
    assert focused(page)["id"] == "global-search"
    expect(page.locator("#global-search")).to_have_value("")

    page.locator("main h1").first.click()
    page.keyboard.press("g")
    page.keyboard.press("t")
    expect(page).to_have_url(re.compile(r"/tickets$"))
    page.keyboard.press("g")
    page.keyboard.press("a")
    expect(page).to_have_url(re.compile(r"/alerts$"))
    page.keyboard.press("g")
    page.keyboard.press("o")
    expect(page).not_to_have_url(re.compile(r"/alerts$"))
