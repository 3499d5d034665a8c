"""Issue 16's agent fixes with real processes: `fleetward serve` and `fleetward agent run`
on 127.0.0.1, reading the .evtx fixtures.

- The rules decide what is read: an agent started with `--winevent System` only reads
  the Security log too, because the timeline needs it and a rule names it; the rule made
  in the dashboard's form, level left as it is, fires on Security's audit failures.
- A Linux agent reading a folder of .evtx files says so in its hello, answers a query
  of a log it does not read with what it reads, and ships timeline kinds the server has
  no name for, which the server keeps as sent.
"""

from __future__ import annotations

import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from fleetward.agent.outbox import Item, ItemKind, Outbox
from fleetward.domain.eventlog import EventRecord, MinLevel, WatchRule, matches
from fleetward.evtx_reader import read_evtx
from tests.integration.test_agent_end_to_end import alerts_by_rule, fixture
from tests.support import agent_powershell_logs
from tests.support.agent_live import (
    PASSWORD,
    LiveAgent,
    LiveServer,
    agent_processes,
    running_server,
    wait_for,
)

pytestmark = pytest.mark.sqlite_only

DELIVERY_S = 60.0
SECURITY = "velocidex-evtx_Security.evtx"
SYSTEM = "python-evtx_system.evtx"
ADMIN = "admin@agent.test"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[LiveServer]:
    with running_server(tmp_path, database_url) as live:
        yield live


@pytest.fixture
def agents() -> Iterator[list[LiveAgent]]:
    with agent_processes() as started:
        yield started


def logged_in(server: LiveServer) -> tuple[httpx.Client, str]:
    """A browser-like session of the admin, and its CSRF token."""
    browser = httpx.Client(base_url=server.url, timeout=30)
    form = browser.get("/login")
    token = _CSRF.search(form.text)
    assert token, "the login page has its CSRF token"
    data = {"email": ADMIN, "password": PASSWORD, "csrf_token": token.group(1), "next": ""}
    assert browser.post("/login", data=data).status_code == 303
    found = _CSRF.search(browser.get("/clients").text)
    assert found
    return browser, found.group(1)


def folder_of(tmp_path: Path, *names: str) -> Path:
    logs = tmp_path / "logs"
    logs.mkdir()
    for name in names:
        shutil.copy(fixture(name), logs / name)
    return logs


def start_agent(
    server: LiveServer, tmp_path: Path, agents: list[LiveAgent], args: list[str]
) -> tuple[LiveAgent, str]:
    state = tmp_path / "agent" / "state"
    state.parent.mkdir(exist_ok=True)
    agent = LiveAgent(
        server.url, state, [*args, "--poll-seconds", "0.5"], token=server.enrolment_token()
    )
    agents.append(agent)
    agent.start()
    wait_for(lambda: len(server.agents()) == 1, DELIVERY_S, "the agent enrolling")
    return agent, str(server.agents()[0]["id"])


def failed_logon_records() -> list[EventRecord]:
    rule = WatchRule(id="x", log_name="Security", event_ids=frozenset({4625}))
    found = [r for r in read_evtx(fixture(SECURITY)) if isinstance(r, EventRecord)]
    chosen = [r for r in found if matches(rule, r)]
    assert chosen, "the fixture holds failed logons"
    return chosen


def test_a_rule_made_in_the_form_fires_on_a_log_the_agent_was_not_started_with(
    server: LiveServer, tmp_path: Path, agents: list[LiveAgent]
) -> None:
    created = server.api(
        "POST",
        "/api/v1/alert-rules",
        json={"name": "Everything", "active": True, "conditions": {}, "actions": {}},
    )
    assert created.status_code == 201, created.text
    # The obvious failed-logons rule, made in the form with its level as it comes.
    browser, csrf = logged_in(server)
    form = browser.get("/watches").text
    level = re.search(r'<option value="([a-z]+)" selected>', form.split('id="wr-level"')[1])
    assert level and level.group(1) == MinLevel.VERBOSE.value
    saved = browser.post(
        "/watches",
        data={
            "name": "Failed logons",
            "scope_type": "tenant",
            "log_name": "Security",
            "event_ids": "4625",
            "min_level": level.group(1),
            "alert_severity": "major",
            "enabled": "on",
            "csrf_token": csrf,
        },
    )
    assert saved.status_code == 303, saved.text[:500]
    (rule,) = server.api("GET", "/api/v1/event-log-watches").json()["items"]

    # A Windows machine whose logs are the fixtures; the agent is told of System only.
    logs = folder_of(tmp_path, SECURITY, SYSTEM)
    powershell = f"{sys.executable} {Path(agent_powershell_logs.__file__)} {logs}"
    _, pc_id = start_agent(
        server, tmp_path, agents, ["--winevent", "System", "--powershell", powershell]
    )
    want = {r.record_id for r in failed_logon_records()}
    wait_for(lambda: alerts_by_rule(server) == {rule["id"]: want}, DELIVERY_S, "the failed logons")
    alerts = server.api("GET", "/api/v1/alerts", params={"limit": 1}).json()["items"]
    detail = server.api("GET", f"/api/v1/alerts/{alerts[0]['id']}").json()
    assert "FailureReason: Unknown user name or bad password." in detail["message"], (
        "the insertion string %%2313 resolved"
    )
    # The timeline's logons come from Security too, read for it whatever the rules.
    kinds = {e["kind"] for e in server.timeline(pc_id)}
    assert {"logon", "boot"} <= kinds, kinds

    # A log it does not read is answered with what it reads, not an empty list.
    asked = server.api("GET", f"/api/v1/agents/{pc_id}/eventlog", params={"log": "Application"})
    assert asked.status_code == 502, asked.text
    message = asked.json()["error"]["message"]
    assert "this agent does not collect Application; it reads: System, Security" in message


def test_an_evtx_folder_agent_reports_its_logs_and_ships_kinds_the_server_never_named(
    server: LiveServer, tmp_path: Path, agents: list[LiveAgent]
) -> None:
    # An item a newer agent left in the outbox before this one took over its state.
    state = tmp_path / "agent" / "state"
    state.mkdir(parents=True)
    outbox = Outbox.in_dir(state)
    usb: dict[str, Any] = {
        "at": "2026-03-01T08:00:00Z",
        "kind": "usb.device-inserted",
        "source": "agent:future",
        "event_record_id": "usb-1",
        "payload": {"device": "Kingston DataTraveler"},
    }
    outbox.append([Item(ItemKind.EVENT, usb)])
    outbox.close()

    logs = folder_of(tmp_path, SECURITY, SYSTEM)
    _, pc_id = start_agent(server, tmp_path, agents, ["--evtx-dir", str(logs)])

    def shipped() -> list[dict[str, Any]]:
        return [e for e in server.timeline(pc_id) if e["kind"] == "usb.device-inserted"]

    wait_for(lambda: bool(shipped()), DELIVERY_S, "the unknown kind stored")
    assert shipped()[0]["payload"] == usb["payload"]
    wait_for(lambda: any(e["kind"] == "boot" for e in server.timeline(pc_id)), DELIVERY_S, "boots")
    rejected = [
        e
        for e in server.timeline(pc_id)
        if e["kind"] == "diagnostic" and (e["payload"] or {}).get("code") == "rejected"
    ]
    assert rejected == [], "nothing was dropped"

    # The Events tab offers what this Linux agent reads: its files' logs, not journald's.
    browser, _ = logged_in(server)
    page = browser.get(f"/agents/{pc_id}/events").text
    offered = re.findall(r'<option value="([^"]+)">', page.split('id="ev-logs"')[1])
    assert offered[:2] == ["Security", "System"]
    assert 'value="journal"' not in page
    journal = server.api("GET", f"/api/v1/agents/{pc_id}/eventlog", params={"log": "journal"})
    assert journal.status_code == 502
    assert "does not collect journal; it reads: Security, System" in journal.text
    failed = server.api(
        "GET", f"/api/v1/agents/{pc_id}/eventlog", params={"log": "Security", "event_id": 4625}
    )
    assert failed.status_code == 200, failed.text
    assert {r["record_id"] for r in failed.json()["items"]} == {
        r.record_id for r in failed_logon_records()
    }
