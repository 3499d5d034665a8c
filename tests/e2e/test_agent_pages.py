"""The agent, timeline and watch-rule pages in a real browser."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import LiveServer, log_in

pytestmark = pytest.mark.browser


def unique(prefix: str) -> str:
    # The server and its database last the whole session: names must not collide.
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def api(live_server: LiveServer, method: str, path: str, **kw: Any) -> Any:
    headers = kw.pop("headers", live_server.tenant.admin.headers)
    response = httpx.request(method, live_server.url + path, headers=headers, timeout=10, **kw)
    assert response.status_code < 300, response.text
    return response.json() if response.content else None


def enrol(
    live_server: LiveServer, hostname: str, os_name: str = "Windows 11 Pro"
) -> dict[str, str]:
    """A client, a site, a token, and a machine enrolled with it, all through the API."""
    client = api(live_server, "POST", "/api/v1/clients", json={"name": unique("Contoso")})
    site = api(live_server, "POST", f"/api/v1/clients/{client['id']}/sites", json={"name": "HQ"})
    token = api(live_server, "POST", "/api/v1/enrollment-tokens", json={"site_id": site["id"]})
    body = {"token": token["token"], "hostname": hostname, "os": os_name, "agent_version": "0.1.0"}
    enrolled = api(live_server, "POST", "/api/v1/agent/enroll", json=body, headers={})
    return {"id": enrolled["agent_id"], "key": enrolled["agent_key"], "client": client["name"]}


def test_the_agents_list_shows_which_agents_are_online(page: Page, live_server: LiveServer) -> None:
    here, away = unique("WS-HERE"), unique("WS-AWAY")
    enrol(live_server, here)
    gone = enrol(live_server, away)
    # Its machine has not been heard from for two hours.
    container = live_server.container
    with container.agents.uow.write() as repos:
        seen = datetime.now(UTC) - timedelta(hours=2)
        repos.agents.update(live_server.tenant.id, uuid.UUID(gone["id"]), last_seen_at=seen)

    log_in(page, live_server.tenant.admin.email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Agents").click()
    agents = page.get_by_role("table", name="Agents")
    expect(
        agents.get_by_role("row").filter(has_text=here).get_by_test_id("agent-state")
    ).to_have_text("online")
    away_row = agents.get_by_role("row").filter(has_text=away)
    expect(away_row.get_by_test_id("agent-state")).to_have_text("offline")
    expect(away_row).to_contain_text("2 h ago")
    page.screenshot(path="/tmp/agents-list.png", full_page=True)

    page.get_by_role("navigation", name="Filter by state").get_by_role(
        "link", name="offline"
    ).click()
    expect(agents.get_by_role("row").filter(has_text=away)).to_be_visible()
    expect(agents.get_by_role("row").filter(has_text=here)).to_have_count(0)

    page.get_by_role("link", name="all").first.click()
    agents.get_by_role("link", name=here).click()
    expect(page.get_by_role("heading", name=here)).to_be_visible()
    expect(page.get_by_text("Windows 11 Pro").first).to_be_visible()
    page.screenshot(path="/tmp/agent-overview.png", full_page=True)


def test_a_token_is_made_on_the_page_and_shown_once_with_its_command(
    page: Page, live_server: LiveServer
) -> None:
    client = api(live_server, "POST", "/api/v1/clients", json={"name": unique("Fabrikam")})
    api(live_server, "POST", f"/api/v1/clients/{client['id']}/sites", json={"name": "Depot"})
    log_in(page, live_server.tenant.admin.email)
    page.goto("/agents")
    form = page.get_by_role("form", name="New enrolment token")
    form.get_by_label("Site").select_option(label=f"{client['name']} / Depot")
    name = unique("Rollout")
    form.get_by_label("Name", exact=True).fill(name)
    form.get_by_role("button", name="Create token").click()
    expect(page.get_by_text("it is shown only this once")).to_be_visible()
    secret = page.get_by_test_id("token-secret").input_value()
    command = page.get_by_test_id("token-command").input_value()
    assert secret.startswith("fwe_")
    assert command == f"fleetward agent run --server {live_server.url} --token {secret}"
    page.get_by_role("button", name="Copy").first.click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    page.screenshot(path="/tmp/token-created.png", full_page=True)

    body = {"token": secret, "hostname": unique("NEW"), "os": "Debian 12", "agent_version": "0.1"}
    api(live_server, "POST", "/api/v1/agent/enroll", json=body, headers={})
    page.goto("/agents")
    row = (
        page.get_by_role("table", name="Enrolment tokens").get_by_role("row").filter(has_text=name)
    )
    row.get_by_role("button", name=f"Revoke token {name}").click()
    expect(page.get_by_role("status")).to_have_text(f"Token “{name}” revoked.")
    expect(row).to_contain_text("revoked")


def test_a_watch_rule_made_through_the_form_is_listed(page: Page, live_server: LiveServer) -> None:
    machine = unique("WS-WATCHED")
    enrol(live_server, machine)
    log_in(page, live_server.tenant.admin.email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Log watches").click()
    form = page.get_by_role("form", name="New watch rule")
    name = unique("Failed logons")
    form.get_by_label("Name", exact=True).fill(name)
    form.get_by_label("one agent").check()
    agent_select = form.get_by_label("Agent", exact=True)
    option = agent_select.locator("option", has_text=machine).get_attribute("value")
    assert option
    agent_select.select_option(option)
    hint = form.get_by_test_id("level-hint")
    expect(hint).to_have_text("")
    form.get_by_label("Log name").fill("System")
    expect(hint).to_contain_text("System: Events here use Critical, Error, Warning")
    # Chosen, the Security log says its audit failures are Information: any level fits.
    form.get_by_label("Log name").fill("Security")
    expect(hint).to_contain_text("Audit Failure")
    expect(form.get_by_label("Minimum level")).to_have_value("verbose")
    form.get_by_label("Event ids").fill("4625, lots")
    form.get_by_label("Alert severity").select_option("major")
    form.get_by_role("button", name="Create rule").click()
    # A wrong field comes back marked, with the rest of the form as it was typed.
    expect(page.locator("#event_ids-error")).to_contain_text("'lots' is not an event id")
    form = page.get_by_role("form", name="New watch rule")
    expect(form.get_by_label("Name", exact=True)).to_have_value(name)
    form.get_by_label("Event ids").fill("4625, 4740")
    form.get_by_role("button", name="Create rule").click()

    expect(page.get_by_role("status")).to_have_text(f"Watch rule “{name}” created.")
    row = page.get_by_role("table", name="Watch rules").get_by_role("row").filter(has_text=name)
    expect(row).to_contain_text(f"agent {machine}")
    expect(row).to_contain_text("ids 4625, 4740")
    expect(row).to_contain_text("major")
    page.screenshot(path="/tmp/watches.png", full_page=True)
    stored = [
        w
        for w in api(live_server, "GET", "/api/v1/event-log-watches")["items"]
        if w["name"] == name
    ]
    assert len(stored) == 1 and stored[0]["event_ids"] == [4625, 4740]
    assert stored[0]["min_level"] == "verbose", "any level, as the API's default"


def _events(now: datetime) -> list[dict[str, Any]]:
    def at(hours: float) -> str:
        return (now - timedelta(hours=hours)).isoformat()

    def security(user: str, logon_id: str) -> dict[str, Any]:
        return {"user": user, "domain": "CONTOSO", "logon_id": logon_id, "logon_type": 2}

    return [
        {"at": at(20), "kind": "boot", "source": "winlog:System", "event_record_id": "100"},
        {
            "at": at(18),
            "kind": "logon",
            "source": "winlog:Security",
            "event_record_id": "101",
            "payload": security("alice", "0x1"),
        },
        {
            "at": at(12),
            "kind": "logoff",
            "source": "winlog:Security",
            "event_record_id": "102",
            "payload": security("alice", "0x1"),
        },
        {"at": at(10), "kind": "sleep", "source": "winlog:System", "event_record_id": "103"},
        {"at": at(8), "kind": "resume", "source": "winlog:System", "event_record_id": "104"},
        {
            "at": at(7),
            "kind": "logon",
            "source": "winlog:Security",
            "event_record_id": "105",
            "payload": security("bob", "0x2"),
        },
        {
            "at": at(4),
            "kind": "logon",
            "source": "winlog:Security",
            "event_record_id": "106",
            "payload": security("alice", "0x3"),
        },
        {
            "at": at(2),
            "kind": "agent_started",
            "source": "agent:startup",
            "payload": {"agent_version": "0.1.0", "hostname": "x", "os": "Windows 11"},
        },
    ]


def test_the_timeline_shows_sent_events_with_chips_and_swimlanes(
    page: Page, live_server: LiveServer
) -> None:
    machine = unique("WS-TL")
    agent = enrol(live_server, machine)
    now = datetime.now(UTC)
    sent = httpx.post(
        live_server.url + "/api/v1/agent/events",
        json={"events": _events(now)},
        headers={"Authorization": f"Bearer {agent['key']}"},
        timeout=10,
    )
    assert sent.status_code == 200 and sent.json() == {"accepted": 8, "duplicates": 0}

    log_in(page, live_server.tenant.readonly.email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Timeline").click()
    page.get_by_label("Machine", exact=True).select_option(
        label=f"{machine} ({agent['client']} / HQ)"
    )
    page.get_by_role("button", name="Show").click()
    events = page.get_by_role("table", name="Timeline events")
    expect(events.locator("tbody tr")).to_have_count(8)
    expect(events.locator("tbody tr").first).to_contain_text("agent started")

    lanes = page.get_by_test_id("swimlanes")
    expect(lanes).to_be_visible()
    # Power: on from the boot to the sleep, then from the resume up to now.
    expect(lanes.locator("rect.bar-power")).to_have_count(2)
    expect(lanes.locator("rect.bar-power.bar-open")).to_have_count(1)
    expect(lanes.locator("rect.bar-sleep")).to_have_count(1)
    expect(lanes.locator('g[data-label="CONTOSO\\\\alice"] rect.bar')).to_have_count(2)
    expect(lanes.locator('g[data-label="CONTOSO\\\\bob"] rect.bar-open')).to_have_count(1)
    right_edge = lanes.locator("line.lane-now").get_attribute("x1")
    bob_bar = lanes.locator('g[data-label="CONTOSO\\\\bob"] rect.bar')
    x, width = (float(bob_bar.get_attribute(a) or "0") for a in ("x", "width"))
    assert right_edge is not None and x + width <= float(right_edge) + 0.01, (
        "bob's bar stops at now"
    )
    page.screenshot(path="/tmp/timeline.png", full_page=True)

    def chip(kind: str) -> Locator:
        return page.get_by_role("navigation", name="Kinds").locator(f'a[data-kind="{kind}"]')

    chip("logon").click()
    expect(events.locator("tbody tr")).to_have_count(3)
    expect(chip("logon")).to_have_attribute("aria-pressed", "true")
    chip("boot").click()
    expect(events.locator("tbody tr")).to_have_count(4)
    assert "kind=logon&kind=boot" in page.url
    chip("logon").click()
    expect(events.locator("tbody tr")).to_have_count(1)
    expect(events.locator("tbody tr")).to_contain_text("boot")

    # Each row opens to its payload.
    page.get_by_role("link", name="Clear").click()
    events.get_by_text("CONTOSO\\bob · logon type 2").click()
    expect(events.get_by_text('"logon_id": "0x2"')).to_be_visible()

    page.goto(f"/agents/{agent['id']}/events")
    expect(page.get_by_label("Log name")).to_have_value("System")
    expect(page.get_by_label("Event id")).to_be_visible()
