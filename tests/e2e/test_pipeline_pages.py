"""The alert pipeline's pages in a real browser: from a new integration to a closed ticket."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import LiveServer, log_in

pytestmark = pytest.mark.browser


def unique(prefix: str) -> str:
    # The server and its database last the whole session: names must not collide.
    return f"{prefix} {uuid.uuid4().hex[:6]}"


def api(live_server: LiveServer, method: str, path: str, **kw: Any) -> Any:
    headers = live_server.tenant.admin.headers
    response = httpx.request(method, live_server.url + path, headers=headers, timeout=10, **kw)
    assert response.status_code < 300, response.text
    return response.json()


def test_an_alert_from_a_new_integration_to_its_closed_ticket(
    page: Page, live_server: LiveServer
) -> None:
    client_name = unique("Contoso")
    client = api(live_server, "POST", "/api/v1/clients", json={"name": client_name})
    # A catch-all for this client only: other tests share the tenant.
    api(
        live_server,
        "POST",
        "/api/v1/alert-rules",
        json={"name": unique("Catch all"), "conditions": {"client_ids": [client["id"]]}},
    )
    log_in(page, live_server.tenant.admin.email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Integrations").click()
    form = page.get_by_role("form", name="New integration")
    form.get_by_label("Provider").select_option(label="Generic JSON")
    name = unique("Uptime checks")
    form.get_by_label("Name").fill(name)
    form.get_by_label("Default client").select_option(label=client_name)
    form.get_by_role("button", name="Create integration").click()

    expect(page.get_by_role("heading", name=name)).to_be_visible()
    expect(page.get_by_text("it is shown only this once")).to_be_visible()
    url = page.get_by_test_id("webhook-url").input_value()
    secret = page.get_by_test_id("webhook-secret").input_value()
    assert re.fullmatch(rf"{re.escape(live_server.url)}/api/v1/webhooks/[0-9a-f-]{{36}}", url)
    assert secret.startswith("fwh_")

    title = unique("Web shop is down")
    body = {
        "kind": "triggered",
        "external_alert_id": unique("uptime").replace(" ", "-"),
        "device": {"external_id": "shop.contoso.example", "name": "Contoso web shop"},
        "severity": "critical",
        "title": title,
        "message": "HTTPS check failed 3 times in a row: connection timed out.",
        "condition_identity": "http-check",
        "occurred_at": "2026-05-01T11:30:12+02:00",
    }
    answer = httpx.post(url, json=body, headers={"X-Fleetward-Token": secret}, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.json()["result"] == "created"

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Alerts").click()
    row = page.get_by_role("row").filter(has_text=title)
    expect(row).to_contain_text("critical")
    expect(row).to_contain_text("active")
    expect(row).to_contain_text(client_name)
    page.screenshot(path="/tmp/alerts-list.png", full_page=True)

    row.get_by_role("link", name=title, exact=True).click()
    expect(page.get_by_role("heading", name=title)).to_be_visible()
    trace = page.get_by_test_id("trace")
    expect(trace).to_contain_text(f"resolved to {client_name}")
    expect(trace.get_by_role("cell", name="matched", exact=True)).to_be_visible()
    expect(trace).to_contain_text("no open ticket for this client, device and condition")
    page.screenshot(path="/tmp/alert-detail.png", full_page=True)

    page.get_by_test_id("ticket-link").click()
    expect(page.get_by_role("heading", name=f"Contoso web shop: {title}")).to_be_visible()
    expect(page.get_by_role("link", name=title)).to_be_visible()  # the linked alert
    comment = page.get_by_role("form", name="New comment")
    comment.get_by_label("Comment").fill("Restarted the web server.\nWatching it.")
    comment.get_by_role("button", name="Add comment").click()
    expect(page.get_by_role("status")).to_have_text("Comment added.")
    expect(page.locator(".comment-user")).to_contain_text("Restarted the web server.")

    update = page.get_by_role("form", name="Update ticket")
    update.get_by_label("Status").select_option(label="Closed (closes)")
    update.get_by_role("button", name="Update").click()
    expect(page.get_by_role("status")).to_have_text(re.compile(r"Ticket #\d+ closed\."))
    expect(page.get_by_test_id("ticket-state")).to_contain_text("closed")
    expect(page.locator(".comment-system").last).to_contain_text("1 active alert(s) resolved")
    page.screenshot(path="/tmp/ticket-detail.png", full_page=True)

    page.get_by_role("link", name=title).click()
    expect(page.locator(".title-row")).to_contain_text("resolved")


def rule_order(page: Page, *names: str) -> list[str]:
    """The given rules as the list shows them, top first."""
    shown = page.locator("tr[data-rule]").evaluate_all("rows => rows.map(r => r.dataset.rule)")
    return [n for n in shown if n in names]


def test_a_rule_is_made_in_the_editor_and_moved(page: Page, live_server: LiveServer) -> None:
    log_in(page, live_server.tenant.admin.email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Rules").click()
    page.get_by_role("link", name="New rule").click()
    first = unique("Disk alerts")
    page.get_by_label("Name").fill(first)
    page.get_by_role("group", name="Severities").get_by_label("critical").check()
    page.get_by_label("Title or message has").fill("disk, volume")

    # Checked as it is typed: the reason appears next to the field before saving.
    pattern = page.get_by_label("Message matches")
    pattern.fill("(full|low")
    expect(page.locator("#message_pattern-check")).to_contain_text("missing )")
    pattern.fill("(full|low)")
    expect(page.locator("#message_pattern-check")).to_have_text("valid pattern")
    page.get_by_label("Title template").fill("{{ client }}: {{ device")
    expect(page.locator("#title_template-check")).to_contain_text("expected")
    page.screenshot(path="/tmp/rule-editor.png", full_page=True)

    # Saved as it is, the server says the same, next to the field, keeping the input.
    page.get_by_role("button", name="Create rule").click()
    expect(page.locator("#title_template-error")).to_contain_text("expected")
    expect(page.get_by_label("Title or message has")).to_have_value("disk, volume")
    page.get_by_label("Title template").fill("{{ client }}: {{ device }}")
    page.get_by_role("button", name="Create rule").click()
    expect(page.get_by_role("status")).to_have_text(f"Rule “{first}” created.")

    second = unique("Everything else")
    page.get_by_role("link", name="New rule").click()
    page.get_by_label("Name").fill(second)
    page.get_by_role("button", name="Create rule").click()
    expect(page.get_by_role("status")).to_have_text(f"Rule “{second}” created.")
    assert rule_order(page, first, second) == [first, second]

    page.get_by_role("button", name=f"Move {second} up").click()
    expect(page.get_by_role("status")).to_have_text(f"Rule “{second}” moved up.")
    assert rule_order(page, first, second) == [second, first]
    page.get_by_role("button", name=f"Move {second} down").click()
    expect(page.get_by_role("status")).to_have_text(f"Rule “{second}” moved down.")
    assert rule_order(page, first, second) == [first, second]


def test_a_window_in_an_unknown_zone_is_refused_naming_it(
    page: Page, live_server: LiveServer
) -> None:
    log_in(page, live_server.tenant.admin.email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Maintenance").click()
    form = page.get_by_role("form", name="New window")
    name = unique("Patch night")
    form.get_by_label("Name").fill(name)
    form.get_by_label("Every week").check()
    form.get_by_role("group", name="Days").get_by_label("Sun").check()
    form.get_by_label("From").fill("22:00")
    form.get_by_label("Until").fill("02:00")
    form.get_by_label("Time zone", exact=True).fill("Mars/Olympus_Mons")
    form.get_by_role("button", name="Create window").click()

    expect(page.locator("#timezone-error")).to_have_text(
        "unknown time zone 'Mars/Olympus_Mons': use an IANA name such as Europe/Berlin"
    )
    form = page.get_by_role("form", name="New window")
    expect(form.get_by_label("Name")).to_have_value(name)
    expect(form.get_by_label("Time zone", exact=True)).to_have_value("Mars/Olympus_Mons")

    form.get_by_label("Time zone", exact=True).fill("Europe/Berlin")
    form.get_by_role("button", name="Create window").click()
    expect(page.get_by_role("status")).to_have_text(f"Window “{name}” created.")
    expect(page.get_by_role("row").filter(has_text=name)).to_contain_text(
        "every Sun 22:00\N{EN DASH}02:00 Europe/Berlin"
    )
