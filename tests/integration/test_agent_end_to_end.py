"""Watch rules to tickets, end to end: `fleetward serve` and `fleetward agent run` as real
processes on 127.0.0.1, talking over the real control channel.

The rules exist before the machine enrols (its first config must carry them to the
backlog it reads first); a second rule is made while it is connected and must reach
it without a restart. What the alerts and tickets must be is derived from the .evtx
fixtures with the domain's own matching, so the test holds for any fixture content.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fleetward.agent.outbox import FILE_NAME
from fleetward.domain.alerts import Severity
from fleetward.domain.eventlog import EventRecord, MinLevel, WatchRule, matches
from fleetward.evtx_reader import read_evtx
from tests.support.agent_live import (
    LiveAgent,
    LiveServer,
    agent_processes,
    running_server,
    wait_for,
)
from tests.support.components import evtx_fixtures

# Pages and agent processes do not depend on the engine: SQLite only (the storage
# contract runs on both engines in the repository and API tests).
pytestmark = pytest.mark.sqlite_only

DELIVERY_S = 60.0  # generous bound for the agent to read, ship and the server to ingest
PUSH_S = 5.0  # the push itself takes milliseconds; the bound only absorbs a busy machine
FAILED_LOGONS = {
    "name": "Failed logons",
    "scope": {"type": "tenant"},
    "log_name": "Security",
    "event_ids": [4625],
    "alert_severity": "major",
}
SERVICE_INSTALLS = {
    "name": "Service installed",
    "log_name": "System",
    "providers": ["Service Control Manager"],
    "event_ids": [7045],
    "alert_severity": "minor",
}


def fixture(name: str) -> Path:
    path = evtx_fixtures() / name
    if not path.exists():
        pytest.fail(f"the fixture {name}" + " is missing from tests/fixtures/evtx")
    return path


def expected_record_ids(path: Path, body: dict[str, Any]) -> set[str]:
    """Ids of the records of `path` the rule `body` (as the API takes it) watches for."""
    rule = WatchRule(
        id="expected",
        log_name=body["log_name"],
        event_ids=frozenset(body.get("event_ids", ())),
        providers=tuple(body.get("providers", ())),
        min_level=MinLevel(body.get("min_level", "verbose")),
        alert_severity=Severity(body["alert_severity"]),
    )
    records = [r for r in read_evtx(path) if isinstance(r, EventRecord)]
    found = {r.record_id for r in records if matches(rule, r)}
    assert found, f"{path.name} holds nothing for {body['name']}: the test would prove nothing"
    return found


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[LiveServer]:
    with running_server(tmp_path, database_url) as live:
        yield live


@pytest.fixture
def agent_process() -> Iterator[list[LiveAgent]]:
    with agent_processes() as started:
        yield started


def created(server: LiveServer, path: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = server.api("POST", path, json=body)
    assert answer.status_code == 201, answer.text
    made: dict[str, Any] = answer.json()
    return made


def held_config_version(state_dir: Path) -> int:
    """The config version the agent has applied, as its own state file records it."""
    with sqlite3.connect(f"file:{state_dir / FILE_NAME}?mode=ro", uri=True) as db:
        row = db.execute("SELECT value FROM state WHERE key = 'agent.config_version'").fetchone()
    return int(json.loads(row[0])) if row else 0


def alerts_by_rule(server: LiveServer) -> dict[str, set[str]]:
    """The event-log alerts: rule id -> record ids (from evtlog:{agent}:{rule}:{record})."""
    found: dict[str, set[str]] = {}
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 500, **({"cursor": cursor} if cursor else {})}
        page = server.api("GET", "/api/v1/alerts", params=params)
        assert page.status_code == 200, page.text
        for alert in page.json()["items"]:
            _, _, rule_id, record_id = alert["external_alert_id"].split(":", 3)
            found.setdefault(rule_id, set()).add(record_id)
        cursor = page.json()["next"]
        if not cursor:
            return found


def open_tickets(server: LiveServer) -> list[dict[str, Any]]:
    page = server.api("GET", "/api/v1/tickets", params={"limit": 500})
    assert page.status_code == 200, page.text
    return [t for t in page.json()["items"] if not t["is_closed"]]


def test_watch_rules_reach_the_agent_and_its_matches_become_alerts_and_tickets(
    server: LiveServer, tmp_path: Path, agent_process: list[LiveAgent]
) -> None:
    security = fixture("velocidex-evtx_Security.evtx")
    system = fixture("python-evtx_system.evtx")
    created(
        server,
        "/api/v1/alert-rules",
        {"name": "Everything", "active": True, "conditions": {}, "actions": {}},
    )
    failed_logons = created(server, "/api/v1/event-log-watches", FAILED_LOGONS)
    logs = tmp_path / "evtx"
    logs.mkdir()
    shutil.copy(security, logs / security.name)

    state = tmp_path / "agent" / "state"
    state.parent.mkdir()
    agent = LiveAgent(
        server.url,
        state,
        ["--evtx-dir", str(logs), "--poll-seconds", "0.5"],
        token=server.enrolment_token(),
    )
    agent_process.append(agent)
    agent.start()

    # The rule made before enrolment reached the backlog: one alert per matching record,
    # all of them on one ticket (one machine, one condition).
    want = {failed_logons["id"]: expected_record_ids(security, FAILED_LOGONS)}
    wait_for(lambda: alerts_by_rule(server) == want, DELIVERY_S, "the failed-logon alerts")
    (ticket,) = open_tickets(server)
    assert ticket["occurrence_count"] == len(want[failed_logons["id"]])
    (only,) = server.agents()
    assert only["online"] is True, "connected over the control channel"

    # A rule made while the agent is connected reaches it without a restart ...
    before = held_config_version(state)
    scope = {"type": "agent", "id": only["id"]}
    asked = time.monotonic()
    installs = created(server, "/api/v1/event-log-watches", {**SERVICE_INSTALLS, "scope": scope})
    wait_for(lambda: held_config_version(state) > before, PUSH_S, "the config push", 0.02)
    print(f"config push reached the agent {time.monotonic() - asked:.3f} s after the API call")

    # ... and applies to what it reads next.
    shutil.copy(system, logs / system.name)
    want[installs["id"]] = expected_record_ids(system, SERVICE_INSTALLS)
    wait_for(lambda: alerts_by_rule(server) == want, DELIVERY_S, "the service-install alerts")
    counts = sorted(t["occurrence_count"] for t in open_tickets(server))
    assert counts == sorted(len(ids) for ids in want.values())

    # Nothing is read or sent twice across a restart: the same alerts, the same tickets.
    assert agent.terminate() == 0
    agent.start()

    def started_twice() -> bool:
        events = server.timeline(only["id"])
        return sum(e["kind"] == "agent_started" for e in events) == 2

    wait_for(started_twice, DELIVERY_S, "the restarted agent shipping again")
    assert alerts_by_rule(server) == want
    assert sorted(t["occurrence_count"] for t in open_tickets(server)) == counts
