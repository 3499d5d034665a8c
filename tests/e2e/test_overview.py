"""The overview in a real browser: its numbers are the API's counts, and each number
leads to the list of exactly those items.

The server and its database last the whole session, so other tests' alerts, tickets
and agents are counted too: every number is compared with what the API says at
the same moment, never with a fixed figure.
"""

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
    return f"{prefix} {uuid.uuid4().hex[:6]}"


def path_is(path: str) -> re.Pattern[str]:
    return re.compile(rf"^http://127\.0\.0\.1:\d+{re.escape(path)}$")


def api(live_server: LiveServer, method: str, path: str, **kw: Any) -> Any:
    headers = live_server.tenant.admin.headers
    response = httpx.request(method, live_server.url + path, headers=headers, timeout=10, **kw)
    assert response.status_code < 300, response.text
    return response.json()


def alert_total(live_server: LiveServer, query: str) -> int:
    """The API's count of the alerts `query` selects (Page.total)."""
    total: int = api(live_server, "GET", f"/api/v1/alerts?{query}&limit=1")["total"]
    return total


def every(live_server: LiveServer, path: str) -> list[dict[str, Any]]:
    """Every item of a cursor-paged API list."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        page = api(live_server, "GET", path, params=params)
        items.extend(page["items"])
        cursor = page["next"]
        if not cursor:
            return items


def shown(page: Page, testid: str) -> int:
    text = page.get_by_test_id(testid).inner_text()
    return int(re.match(r"[\d,]+", text.strip()).group(0).replace(",", ""))  # type: ignore[union-attr]


def send_alerts(live_server: LiveServer) -> None:
    """A new client's integration with two critical alerts (one acknowledged) and a
    minor one; a ticket assigned to the admin."""
    client = api(live_server, "POST", "/api/v1/clients", json={"name": unique("Northwind")})
    integration = api(
        live_server,
        "POST",
        "/api/v1/integrations",
        json={
            "provider": "generic",
            "name": unique("Overview checks"),
            "settings": {"default_client_id": client["id"]},
        },
    )
    made = []
    for severity in ("critical", "critical", "minor"):
        body = {
            "kind": "triggered",
            "external_alert_id": unique("ov").replace(" ", "-"),
            "device": {"external_id": unique("host").replace(" ", "-")},
            "severity": severity,
            "title": unique("Service down"),
            "message": "check failed",
            "occurred_at": "2026-05-01T11:30:12Z",
        }
        answer = httpx.post(
            f"{live_server.url}/api/v1/webhooks/{integration['id']}",
            json=body,
            headers={"X-Fleetward-Token": integration["webhook_secret"]},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        made.append(answer.json()["alert_id"])
    api(live_server, "POST", f"/api/v1/alerts/{made[0]}/acknowledge")
    me = str(live_server.tenant.admin.user_id)
    api(live_server, "POST", "/api/v1/tickets", json={"title": unique("Mine"), "assignee_id": me})


def test_the_overviews_numbers_equal_the_apis_counts(page: Page, live_server: LiveServer) -> None:
    send_alerts(live_server)
    log_in(page, live_server.tenant.admin.email)
    expect(page).to_have_url(path_is("/"))
    expect(page.get_by_role("heading", name="Overview", exact=True)).to_be_visible()

    open_alerts = "status=active&status=acknowledged"
    assert shown(page, "unacknowledged-criticals") == alert_total(
        live_server, "status=active&severity=critical"
    )
    assert shown(page, "open-alerts") == alert_total(live_server, open_alerts)
    for severity in ("critical", "major", "moderate", "minor", "none"):
        expected = alert_total(live_server, f"{open_alerts}&severity={severity}")
        assert shown(page, f"open-alerts-{severity}") == expected, severity

    tickets = [t for t in every(live_server, "/api/v1/tickets") if not t["is_closed"]]
    mine = [t for t in tickets if t["assignee_id"] == str(live_server.tenant.admin.user_id)]
    assert shown(page, "open-tickets") == len(tickets)
    assert shown(page, "my-tickets") == len(mine) >= 1

    agents = every(live_server, "/api/v1/agents")
    offline = [a for a in agents if not a["online"] and a["revoked_at"] is None]
    assert shown(page, "agents-offline") == len(offline)

    # The charts are images with a text alternative.
    chart = page.get_by_role("img", name=re.compile(r"^Alerts per day"))
    expect(chart).to_have_count(1)


def test_a_number_leads_to_the_list_of_that_many(page: Page, live_server: LiveServer) -> None:
    send_alerts(live_server)
    log_in(page, live_server.tenant.operator.email)
    expect(page).to_have_url(path_is("/"))

    criticals = shown(page, "unacknowledged-criticals")
    assert criticals >= 1
    page.get_by_test_id("unacknowledged-criticals").click()
    expect(page).to_have_url(path_is("/alerts?status=active&severity=critical"))
    expect(page.get_by_test_id("list-total")).to_have_text(re.compile(rf"^{criticals:,} alerts"))

    page.goto("/")
    open_alerts = shown(page, "open-alerts")
    page.get_by_test_id("open-alerts").click()
    expect(page).to_have_url(path_is("/alerts?status=open"))
    expect(page.get_by_label("Status")).to_have_value("open")
    expect(page.get_by_test_id("list-total")).to_have_text(re.compile(rf"^{open_alerts:,} alerts"))

    page.goto("/")
    fresh = shown(page, "tickets-age-lt1h")
    assert fresh >= 1
    page.get_by_test_id("tickets-age-lt1h").click()
    expect(page).to_have_url(path_is("/tickets?age=lt1h"))
    rows = page.get_by_role("table").locator("tbody tr")
    if fresh <= 50:  # one page of the list
        expect(rows).to_have_count(fresh)


def test_the_overview_refreshes_in_place_when_an_alert_arrives(
    page: Page, live_server: LiveServer
) -> None:
    log_in(page, live_server.tenant.readonly.email)
    expect(page).to_have_url(path_is("/"))
    before = shown(page, "unacknowledged-criticals")
    send_alerts(live_server)  # one more unacknowledged critical
    # What the 30-second timer does, now rather than in 30 seconds.
    page.evaluate("window.fleetward.refreshNow()")
    expect(page.get_by_test_id("unacknowledged-criticals")).to_have_text(
        re.compile(rf"^\s*{before + 1:,} unacknowledged")
    )
    expect(page).to_have_url(path_is("/"))
