"""Acting from the lists in a real browser (issue 16, "Acting"): an alert acknowledged
and a ticket assigned from the lists, as an operator starting a shift would."""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import urlsplit

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


def alert_with_a_ticket(live_server: LiveServer) -> tuple[str, str, dict[str, Any]]:
    """A client of its own with a catch-all rule, and one alert sent to its integration."""
    client = api(live_server, "POST", "/api/v1/clients", json={"name": unique("Contoso")})
    rule = {"name": unique("Catch all"), "conditions": {"client_ids": [client["id"]]}}
    api(live_server, "POST", "/api/v1/alert-rules", json=rule)
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
    title = unique("Backup job failed")
    body = {
        "kind": "triggered",
        "external_alert_id": unique("backup").replace(" ", "-"),
        "device": {"external_id": "nas-1", "name": "Contoso NAS"},
        "severity": "major",
        "title": title,
        "occurred_at": "2026-05-01T02:00:00Z",
    }
    # The API names its own host and port; the live server listens elsewhere.
    answer = httpx.post(
        live_server.url + urlsplit(integration["webhook_url"]).path,
        json=body,
        headers={"X-Fleetward-Token": integration["webhook_secret"]},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    alert = api(live_server, "GET", f"/api/v1/alerts/{answer.json()['alert_id']}")
    return client["id"], title, alert


def test_an_alert_acknowledged_and_a_ticket_assigned_from_the_lists(
    page: Page, live_server: LiveServer
) -> None:
    client_id, title, alert = alert_with_a_ticket(live_server)
    operator = live_server.tenant.operator
    log_in(page, operator.email)

    # The alerts list: check the alert's box, then Acknowledge in the bar above.
    page.goto(f"/alerts?client_id={client_id}")
    row = page.get_by_role("row").filter(has_text=title)
    expect(row).to_contain_text("active")
    row.get_by_role("checkbox", name=f"Select {title}").check()
    page.get_by_role("form", name="Act on the checked alerts").get_by_role(
        "button", name="Acknowledge"
    ).click()
    expect(page.get_by_role("status")).to_have_text("Acknowledged: 1 acknowledged.")
    expect(page.get_by_role("row").filter(has_text=title)).to_contain_text("acknowledged")
    assert api(live_server, "GET", f"/api/v1/alerts/{alert['id']}")["status"] == "acknowledged"

    # The tickets list: "Assign to me" on the alert's ticket.
    ticket = api(live_server, "GET", f"/api/v1/tickets/{alert['ticket_id']}")
    number = ticket["number"]
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Tickets").click()
    page.goto(f"/tickets?client_id={client_id}")
    row = page.get_by_role("row").filter(has_text=title)
    row.get_by_role("button", name=f"Assign to me: #{number}").click()
    expect(page.get_by_role("status")).to_have_text(f"Ticket #{number} assigned to you.")
    expect(page).to_have_url(re.compile(rf"/tickets\?client_id={client_id}$"))  # filters kept
    row = page.get_by_role("row").filter(has_text=title)
    expect(row.locator(".assignee-cell")).to_have_text("you")
    expect(row.get_by_role("button", name=f"Assign to me: #{number}")).to_have_count(0)
    assignee = api(live_server, "GET", f"/api/v1/tickets/{ticket['id']}")["assignee_id"]
    assert assignee == str(operator.user_id)

    # Mine now: the ticket's page says who has it, and its history says who did it.
    row.get_by_role("link", name=re.compile(re.escape(title))).click()
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text(operator.email)
    history = page.locator("#history")
    expect(history).to_contain_text(f"{operator.email} assigned it to {operator.email}")
