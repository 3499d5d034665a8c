"""The agent control channel (WebSocket) and the event-log query relayed over it.

The test plays the agent over the app's real WebSocket (tests/support/channel.py),
on both engines, and checks what docs/agent-protocol.md promises: config on a
stale hello, welcome on a current one, a push on every watch change that
reaches the agent and nothing for those it does not, revocation, bad frames,
heartbeats, and commands with their failures.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketDenialResponse
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect as ws_connect

from fleetward.adapters.storage.database import SqlUnitOfWork
from fleetward.bootstrap import Container, build
from fleetward.config import Settings
from fleetward.domain.agents import AGENT_KEY_PREFIX, FIRST_CONFIG_VERSION
from fleetward.domain.tokens import new_secret
from fleetward.entrypoints.http.app import create_app
from fleetward.services.agent_control import MAX_PENDING_COMMANDS
from tests.conftest import FAST_PASSWORDS, TenantFixture, make_tenant
from tests.support.agents import EnrolledAgent, enroll, enrolled_agent, make_site, make_token
from tests.support.api import assert_error, audit_entries, cross_tenant_entries, error_shape, unique
from tests.support.channel import WAIT_SECONDS, AgentChannel
from tests.support.live_server import bind_local
from tests.support.live_server import serve as live_server

# Pages and agent processes do not depend on the engine: SQLite only (the storage
# contract runs on both engines in the repository and API tests).
pytestmark = pytest.mark.sqlite_only

WATCHES = "/api/v1/event-log-watches"
AGENTS = "/api/v1/agents"


# Helpers


def new_client(client: TestClient, tenant: TenantFixture) -> str:
    made = client.post(
        "/api/v1/clients", json={"name": unique("Contoso")}, headers=tenant.admin.headers
    )
    assert made.status_code == 201, made.text
    client_id: str = made.json()["id"]
    return client_id


def new_site(client: TestClient, tenant: TenantFixture, client_id: str) -> str:
    made = client.post(
        f"/api/v1/clients/{client_id}/sites",
        json={"name": unique("Site")},
        headers=tenant.admin.headers,
    )
    assert made.status_code == 201, made.text
    site_id: str = made.json()["id"]
    return site_id


def agent_at(client: TestClient, tenant: TenantFixture, site_id: str, host: str) -> EnrolledAgent:
    answer = enroll(client, make_token(client, tenant, site_id)["token"], host)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    return EnrolledAgent(body["agent_id"], body["agent_key"], site_id)


def new_watch(
    client: TestClient, tenant: TenantFixture, scope: dict[str, Any], **body: Any
) -> dict[str, Any]:
    made = client.post(
        WATCHES,
        json={"name": unique("Watch"), "scope": scope, "log_name": "System", **body},
        headers=tenant.admin.headers,
    )
    assert made.status_code == 201, made.text
    watch: dict[str, Any] = made.json()
    return watch


def as_config(watch: dict[str, Any]) -> dict[str, Any]:
    """A rule as the config carries it: the API's shape less scope and timestamps."""
    return {k: v for k, v in watch.items() if k not in ("scope", "created_at", "updated_at")}


def stored_version(container: Container, tenant: TenantFixture, agent_id: str) -> int:
    with SqlUnitOfWork(container.db).read() as repos:
        agent = repos.agents.get(tenant.id, uuid.UUID(agent_id))
    assert agent is not None
    return int(agent.config_version)


def rule_ids(frame: dict[str, Any]) -> list[str]:
    return [w["id"] for w in frame["config"]["watches"]]


# Hello: config or welcome


def test_a_stale_agent_gets_its_config_and_a_current_one_a_welcome(
    client: TestClient, container: Container, tenant: TenantFixture
) -> None:
    agent = enrolled_agent(client, tenant)
    watch = new_watch(client, tenant, {"type": "tenant"}, event_ids=[7, 51], min_level="warning")
    version = stored_version(container, tenant, agent.id)
    assert version > 0

    with AgentChannel(client, agent.key, config_version=0) as channel:
        frame = channel.next_frame()
    assert frame == {
        "type": "config",
        "config_version": version,
        "config": {"heartbeat_seconds": 30, "watches": [as_config(watch)]},
    }

    with AgentChannel(client, agent.key, config_version=version) as channel:
        assert channel.next_frame() == {"type": "welcome", "config_version": version}

    # An agent ahead of the server (its state restored from elsewhere) is stale too.
    with AgentChannel(client, agent.key, config_version=version + 5) as channel:
        frame = channel.next_frame()
    assert (frame["type"], frame["config_version"]) == ("config", version)


def test_an_agent_enrolled_after_its_rules_were_made_gets_them_on_its_first_hello(
    client: TestClient, container: Container, tenant: TenantFixture
) -> None:
    site_id = make_site(client, tenant)
    watch = new_watch(client, tenant, {"type": "site", "id": site_id})
    answer = enroll(client, make_token(client, tenant, site_id)["token"], "WS-NEW")
    agent = EnrolledAgent(answer.json()["agent_id"], answer.json()["agent_key"], site_id)
    # No change reached it yet: it starts at the version that means "the config at enrolment".
    assert stored_version(container, tenant, agent.id) == FIRST_CONFIG_VERSION
    with AgentChannel(client, agent.key, config_version=0) as channel:  # 0: holds none
        frame = channel.next_frame()
    assert (frame["type"], frame["config_version"]) == ("config", FIRST_CONFIG_VERSION)
    assert frame["config"]["watches"] == [as_config(watch)]


def test_the_config_holds_exactly_the_rules_that_reach_the_agent(
    client: TestClient, container: Container, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    client_id, other_client_id = new_client(client, tenant), new_client(client, tenant)
    site_id = new_site(client, tenant, client_id)
    sibling_site_id = new_site(client, tenant, client_id)
    far_site_id = new_site(client, tenant, other_client_id)
    agent = agent_at(client, tenant, site_id, "WS-01")
    neighbour = agent_at(client, tenant, site_id, "WS-02")

    reaching = [
        new_watch(client, tenant, {"type": "tenant"}),
        new_watch(client, tenant, {"type": "client", "id": client_id}),
        new_watch(client, tenant, {"type": "site", "id": site_id}),
        new_watch(client, tenant, {"type": "agent", "id": agent.id}, providers=["disk"]),
    ]
    for scope in (
        {"type": "client", "id": other_client_id},
        {"type": "site", "id": sibling_site_id},
        {"type": "site", "id": far_site_id},
        {"type": "agent", "id": neighbour.id},
    ):
        new_watch(client, tenant, scope)
    new_watch(client, tenant, {"type": "tenant"}, enabled=False)
    theirs = enrolled_agent(client, other_tenant, "THEIRS-01")
    new_watch(client, other_tenant, {"type": "tenant"})
    new_watch(client, other_tenant, {"type": "agent", "id": theirs.id})

    with AgentChannel(client, agent.key) as channel:
        frame = channel.next_frame()
    assert frame["type"] == "config"
    assert frame["config_version"] == stored_version(container, tenant, agent.id)
    assert frame["config"]["watches"] == [as_config(w) for w in reaching]


# Pushes while connected


def test_a_watch_change_reaches_the_connected_agents_it_applies_to_and_no_others(
    client: TestClient, container: Container, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    client_id = new_client(client, tenant)
    site_a, site_b = new_site(client, tenant, client_id), new_site(client, tenant, client_id)
    agent_a = agent_at(client, tenant, site_a, "WS-A")
    agent_b = agent_at(client, tenant, site_b, "WS-B")
    theirs = enrolled_agent(client, other_tenant, "THEIRS-01")

    with (
        AgentChannel(client, agent_a.key) as a,
        AgentChannel(client, agent_b.key) as b,
        AgentChannel(client, theirs.key) as c,
    ):
        for channel in (a, b, c):
            assert channel.next_frame()["type"] == "welcome"

        # Created for site A: A has it within a second (the promise), B hears nothing.
        watch = new_watch(client, tenant, {"type": "site", "id": site_a}, event_ids=[41])
        frame = a.next_frame(seconds=1.0)
        assert frame["config_version"] == stored_version(container, tenant, agent_a.id)
        assert frame["config"]["watches"] == [as_config(watch)]

        # Changed: A sees the change.
        path = f"{WATCHES}/{watch['id']}"
        patched = client.patch(path, json={"event_ids": [41, 6008]}, headers=tenant.admin.headers)
        assert patched.status_code == 200, patched.text
        frame = a.next_frame()
        assert frame["config"]["watches"] == [as_config(patched.json())]
        assert frame["config_version"] == stored_version(container, tenant, agent_a.id)

        # Moved to site B: A loses it, B gains it.
        moved = client.patch(
            path, json={"scope": {"type": "site", "id": site_b}}, headers=tenant.admin.headers
        )
        assert moved.status_code == 200, moved.text
        assert a.next_frame()["config"]["watches"] == []
        frame = b.next_frame()
        assert frame["config"]["watches"] == [as_config(moved.json())]
        assert frame["config_version"] == stored_version(container, tenant, agent_b.id)

        # Disabled: B's config no longer carries it.
        disabled = client.patch(path, json={"enabled": False}, headers=tenant.admin.headers)
        assert disabled.status_code == 200, disabled.text
        assert b.next_frame()["config"]["watches"] == []
        enabled = client.patch(path, json={"enabled": True}, headers=tenant.admin.headers)
        assert enabled.status_code == 200, enabled.text
        assert rule_ids(b.next_frame()) == [watch["id"]]

        # Deleted: B loses it; A, whom it no longer reached, hears nothing.
        deleted = client.delete(path, headers=tenant.admin.headers)
        assert deleted.status_code == 204, deleted.text
        assert b.next_frame()["config"]["watches"] == []

        # A change that reaches everyone of the tenant: for A and B it is the next frame,
        # so nothing came before it; the other tenant's agent gets nothing.
        everyone = new_watch(client, tenant, {"type": "tenant"})
        for channel, agent in ((a, agent_a), (b, agent_b)):
            frame = channel.next_frame()
            assert rule_ids(frame) == [everyone["id"]]
            assert frame["config_version"] == stored_version(container, tenant, agent.id)
        # Only the other tenant's own change reaches its agent, as its first frame since hello.
        own = new_watch(client, other_tenant, {"type": "tenant"})
        frame = c.next_frame()
        assert rule_ids(frame) == [own["id"]]
        assert frame["config_version"] == stored_version(container, other_tenant, theirs.id)


# Who may connect, and who is put out


def test_a_missing_unknown_or_revoked_key_is_refused_before_the_upgrade(
    client: TestClient, tenant: TenantFixture
) -> None:
    agent = enrolled_agent(client, tenant)
    revoked = client.post(f"{AGENTS}/{agent.id}/revoke", headers=tenant.admin.headers)
    assert revoked.status_code == 200, revoked.text
    person = tenant.admin.key  # a person's API key is not an agent key
    for headers in (
        {},
        {"Authorization": f"Bearer {new_secret(AGENT_KEY_PREFIX)}"},
        {"Authorization": f"Bearer {agent.key}"},
        {"Authorization": f"Bearer {person}"},
        {"Authorization": f"Basic {agent.key}"},
    ):
        with pytest.raises(WebSocketDenialResponse) as refused:
            client.websocket_connect("/api/v1/agent/ws", headers=headers).__enter__()
        assert_error(refused.value, 403, "unauthenticated")


def test_an_agent_revoked_elsewhere_is_closed_on_its_next_heartbeat(
    client: TestClient, container: Container, tenant: TenantFixture
) -> None:
    agent = enrolled_agent(client, tenant)
    with AgentChannel(client, agent.key) as channel:
        assert channel.next_frame()["type"] == "welcome"
        # As another API node would: the row changes, this process is not told.
        with SqlUnitOfWork(container.db).write() as repos:
            repos.agents.update(tenant.id, uuid.UUID(agent.id), revoked_at=datetime.now(UTC))
        channel.send({"type": "heartbeat"})
        closed = channel.closed()
    assert (closed.code, closed.reason) == (4401, "agent key revoked")
    shown = client.get(f"{AGENTS}/{agent.id}", headers=tenant.admin.headers).json()
    assert shown["online"] is False


def test_revoking_a_connected_agent_closes_its_channel_at_once(
    client: TestClient, tenant: TenantFixture
) -> None:
    agent = enrolled_agent(client, tenant)
    with AgentChannel(client, agent.key) as channel:
        assert channel.next_frame()["type"] == "welcome"
        client.post(f"{AGENTS}/{agent.id}/revoke", headers=tenant.admin.headers)
        assert channel.closed().code == 4401  # no heartbeat or push needed


def test_the_version_an_agent_says_in_its_hello_is_the_one_listed(
    client: TestClient, tenant: TenantFixture
) -> None:
    agent = enrolled_agent(client, tenant)  # enrolled as 0.1.0
    with AgentChannel(client, agent.key, config_version=None) as channel:
        hello = {"type": "hello", "config_version": 1, "agent_version": "0.2.0"}
        channel.send(hello)
        assert channel.next_frame()["type"] == "welcome"
    shown = client.get(f"{AGENTS}/{agent.id}", headers=tenant.readonly.headers).json()
    assert shown["agent_version"] == "0.2.0"
    with AgentChannel(client, agent.key, config_version=None) as channel:
        channel.send({**hello, "agent_version": "\x00" * 3})  # not a version: kept as it was
        assert channel.next_frame()["type"] == "welcome"
    shown = client.get(f"{AGENTS}/{agent.id}", headers=tenant.readonly.headers).json()
    assert shown["agent_version"] == "0.2.0"


def test_a_revoked_agent_is_closed_by_the_next_config_push_too(
    client: TestClient, tenant: TenantFixture
) -> None:
    agent = enrolled_agent(client, tenant)
    with AgentChannel(client, agent.key) as channel:
        assert channel.next_frame()["type"] == "welcome"
        client.post(f"{AGENTS}/{agent.id}/revoke", headers=tenant.admin.headers)
        new_watch(client, tenant, {"type": "tenant"})
        assert channel.closed().code == 4401


ONE_MIB = 1024 * 1024
BAD_FRAMES: list[tuple[str, Any, int, str]] = [
    ("not JSON", "{nope", 1007, "frame is not JSON"),
    ("binary", b'{"type": "heartbeat"}', 1003, "frames must be JSON text, not binary"),
    ("a JSON array", "[1, 2]", 1008, "frame must be a JSON object with a string type"),
    ("no type", '{"config_version": 1}', 1008, "frame must be a JSON object with a string type"),
    ("unknown type", '{"type": "reboot"}', 1008, "unknown frame type 'reboot'"),
    ("over 1 MiB", '{"type": "heartbeat", "pad": "' + "x" * ONE_MIB + '"}', 1009, "frame larger"),
    ("a second hello", '{"type": "hello", "config_version": 0}', 1008, "hello comes once, first"),
    ("a result without ok", '{"type": "result", "id": "x"}', 1008, "result needs ok"),
    ("a result without id", '{"type": "result", "ok": true, "data": {}}', 1008, "result.id"),
]
BAD_HELLOS: list[tuple[str, str, str]] = [
    ("heartbeat first", '{"type": "heartbeat"}', "the first frame must be hello"),
    ("a text version", '{"type": "hello", "config_version": "3"}', "hello.config_version"),
    ("a negative version", '{"type": "hello", "config_version": -1}', "hello.config_version"),
    ("no version", '{"type": "hello"}', "hello.config_version"),
]


def test_bad_frames_close_the_connection_with_a_reason_and_the_server_carries_on(
    client: TestClient, tenant: TenantFixture, subtests: pytest.Subtests
) -> None:
    agent = enrolled_agent(client, tenant)
    for label, frame, code, reason in BAD_FRAMES:
        with subtests.test(label), AgentChannel(client, agent.key) as channel:
            assert channel.next_frame()["type"] == "welcome"
            if isinstance(frame, bytes):
                channel.ws.send_bytes(frame)
            else:
                channel.send_text(frame)
            closed = channel.closed()
            assert closed.code == code
            assert closed.reason.startswith(reason), closed.reason
    for label, hello, reason in BAD_HELLOS:
        with subtests.test(label), AgentChannel(client, agent.key, None) as channel:
            channel.send_text(hello)
            closed = channel.closed()
            assert (closed.code, closed.reason.startswith(reason)) == (1008, True), closed
    # Nothing broke: the same agent connects and is answered as ever.
    with AgentChannel(client, agent.key) as channel:
        assert channel.next_frame()["type"] == "welcome"


def test_a_newer_connection_of_the_same_agent_replaces_the_older(
    client: TestClient, tenant: TenantFixture
) -> None:
    agent = enrolled_agent(client, tenant)
    with AgentChannel(client, agent.key) as older:
        assert older.next_frame()["type"] == "welcome"
        with AgentChannel(client, agent.key) as newer:
            assert newer.next_frame()["type"] == "welcome"
            assert older.closed().code == 4409
            watch = new_watch(client, tenant, {"type": "tenant"})
            assert rule_ids(newer.next_frame()) == [watch["id"]]


# Heartbeats and the online state


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def clocked(settings: Settings, clock: Clock) -> Iterator[tuple[TestClient, TenantFixture]]:
    """The app on a clock the test moves."""
    container = build(settings, clock=clock, passwords=FAST_PASSWORDS)
    try:
        with TestClient(create_app(container)) as test_client:
            yield test_client, make_tenant(container, "Acme MSP")
    finally:
        container.close()


def wait_for(check: Any, what: str) -> Any:
    """Poll `check` until it answers something true; generous, for a shared machine."""
    deadline = datetime.now(UTC) + timedelta(seconds=WAIT_SECONDS)
    while datetime.now(UTC) < deadline:
        answer = check()
        if answer:
            return answer
        threading.Event().wait(0.02)
    raise AssertionError(f"{what} did not happen within {WAIT_SECONDS} s")


def test_heartbeats_keep_last_seen_fresh_and_a_connected_agent_is_online(
    clocked: tuple[TestClient, TenantFixture], clock: Clock
) -> None:
    client, tenant = clocked
    agent = enrolled_agent(client, tenant)
    path = f"{AGENTS}/{agent.id}"

    def shown() -> dict[str, Any]:
        found: dict[str, Any] = client.get(path, headers=tenant.readonly.headers).json()
        return found

    enrolled_at = clock.now
    clock.now += timedelta(hours=1)
    assert shown()["online"] is False  # not seen for an hour, not connected
    with AgentChannel(client, agent.key) as channel:
        assert channel.next_frame()["type"] == "welcome"
        connected_at = clock.now
        assert shown()["last_seen_at"] == connected_at.isoformat().replace("+00:00", "Z")
        clock.now += timedelta(minutes=10)
        # Ten minutes without a heartbeat the server has read, but connected: online.
        assert shown()["online"] is True
        channel.send({"type": "heartbeat"})
        fresh = clock.now.isoformat().replace("+00:00", "Z")
        wait_for(lambda: shown()["last_seen_at"] == fresh, "the heartbeat's touch")
        assert shown()["online"] is True
    assert enrolled_at < connected_at
    clock.now += timedelta(hours=1)
    # Gone, and not seen since: offline once the server has noticed the hang-up.
    wait_for(lambda: shown()["online"] is False, "going offline")


# The event-log query, relayed as a command


def record(i: int, **overrides: Any) -> dict[str, Any]:
    """The i-th record of a System log, newest first, in the protocol's record shape."""
    base: dict[str, Any] = {
        "log_name": "System",
        "provider": "disk",
        "event_id": 7,
        "level": 2,
        "record_id": str(5000 - i),
        "time_created": f"2025-03-01T08:{59 - i:02d}:00Z",
        "computer": "WS-01.contoso.local",
        "user_sid": None,
        "keywords": 0x8000000000000000,
        "data": {"DeviceName": "\\Device\\Harddisk0\\DR0"},
        "message": "The device has a bad block.",
    }
    base.update(overrides)
    return base


def answering(records: list[dict[str, Any]]) -> Any:
    def answer(command: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "data": {"records": records}}

    return answer


def eventlog(client: TestClient, headers: dict[str, str], agent_id: str, **params: Any) -> Any:
    return client.get(f"{AGENTS}/{agent_id}/eventlog", params=params, headers=headers)


def in_background(call: Any) -> tuple[threading.Thread, list[httpx.Response]]:
    """Run an API call on a thread while the test's thread plays the agent."""
    answers: list[httpx.Response] = []
    thread = threading.Thread(target=lambda: answers.append(call()), daemon=True)
    thread.start()
    return thread, answers


def test_an_eventlog_query_is_relayed_to_the_agent_and_its_records_answered(
    client: TestClient, container: Container, tenant: TenantFixture
) -> None:
    agent = enrolled_agent(client, tenant)
    records = [record(0), record(1, user_sid="S-1-5-18", data={}, message="")]
    with AgentChannel(client, agent.key, answer=answering(records)) as channel:
        assert channel.next_frame()["type"] == "welcome"
        answer = eventlog(
            client,
            tenant.operator.headers,
            agent.id,
            log="System",
            level="warning",
            event_id=7,
            source="disk",
            since="2025-03-01T09:00:00+01:00",
            until="2025-03-01T09:00:00Z",
            limit=2,
        )
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"items": records}
        (command,) = channel.commands
    assert command["name"] == "eventlog.query"
    uuid.UUID(command["id"])
    assert command["args"] == {
        "log": "System",
        "level": "warning",
        "event_id": 7,
        "source": "disk",
        "since": "2025-03-01T08:00:00Z",
        "until": "2025-03-01T09:00:00Z",
        "limit": 2,
    }
    # Running a command on a customer's machine is on record, with who asked what.
    (entry,) = audit_entries(client, tenant.admin.headers, action="agent.command")
    assert (entry["object_id"], entry["actor_label"]) == (
        agent.id,
        tenant.operator.email + " (api key)",
    )
    assert entry["after"] == {"command": "eventlog.query", "args": command["args"]}


def test_only_the_log_is_required_and_the_limit_defaults_to_100(
    client: TestClient, tenant: TenantFixture
) -> None:
    agent = enrolled_agent(client, tenant)
    with AgentChannel(client, agent.key, answer=answering([])) as channel:
        assert channel.next_frame()["type"] == "welcome"
        answer = eventlog(client, tenant.admin.headers, agent.id, log="Application")
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"items": []}
        assert channel.commands[0]["args"] == {"log": "Application", "limit": 100}


def test_an_agent_that_is_not_connected_is_a_409_with_a_message(
    client: TestClient, tenant: TenantFixture
) -> None:
    agent = enrolled_agent(client, tenant)
    error = assert_error(eventlog(client, tenant.operator.headers, agent.id, log="System"), 409)
    assert error["code"] == "agent_offline"
    assert "not connected" in error["message"]
    # Revoked while connected: it takes no more commands.
    with AgentChannel(client, agent.key, answer=answering([])) as channel:
        assert channel.next_frame()["type"] == "welcome"
        client.post(f"{AGENTS}/{agent.id}/revoke", headers=tenant.admin.headers)
        error = assert_error(eventlog(client, tenant.operator.headers, agent.id, log="System"), 409)
        assert "revoked" in error["message"]
        assert channel.commands == []


def test_no_answer_in_time_is_a_504_and_a_late_answer_is_ignored(
    client: TestClient, container: Container, tenant: TenantFixture
) -> None:
    container.control.command_timeout = 0.3  # the real wait is 15 s
    agent = enrolled_agent(client, tenant)
    with AgentChannel(client, agent.key) as channel:  # answers nothing by itself
        assert channel.next_frame()["type"] == "welcome"
        error = assert_error(eventlog(client, tenant.operator.headers, agent.id, log="System"), 504)
        assert error == {
            "code": "agent_timeout",
            "message": "the agent did not answer within 0.3 s",
        }
        command = channel.next_frame()
        assert command["type"] == "command"
        # Answered too late, and for an id nobody knows: both dropped, the connection lives.
        channel.send({"type": "result", "id": command["id"], "ok": True, "data": {"records": []}})
        channel.send({"type": "result", "id": str(uuid.uuid4()), "ok": False, "error": "?"})
        container.control.command_timeout = WAIT_SECONDS
        thread, answers = in_background(
            lambda: eventlog(client, tenant.operator.headers, agent.id, log="System")
        )
        again = channel.next_frame()
        channel.send({"type": "result", "id": again["id"], "ok": True, "data": {"records": []}})
        thread.join(WAIT_SECONDS)
    assert answers[0].status_code == 200, answers[0].text
    assert answers[0].json() == {"items": []}


def test_an_agent_takes_a_bounded_number_of_waiting_queries(
    client: TestClient, container: Container, tenant: TenantFixture
) -> None:
    container.control.command_timeout = WAIT_SECONDS
    agent = enrolled_agent(client, tenant)
    with AgentChannel(client, agent.key) as channel:  # answers nothing by itself
        assert channel.next_frame()["type"] == "welcome"
        waiting = [
            in_background(lambda: eventlog(client, tenant.operator.headers, agent.id, log="System"))
            for _ in range(MAX_PENDING_COMMANDS)
        ]
        commands = [channel.next_frame() for _ in waiting]
        assert {c["type"] for c in commands} == {"command"}
        refused = eventlog(client, tenant.operator.headers, agent.id, log="System")
        error = assert_error(refused, 429, "rate_limited")
        assert f"already running {MAX_PENDING_COMMANDS} commands" in error["message"]
        for command in commands:
            channel.send(
                {"type": "result", "id": command["id"], "ok": True, "data": {"records": []}}
            )
        for thread, _ in waiting:
            thread.join(WAIT_SECONDS)
    assert [answers[0].status_code for _, answers in waiting] == [200] * MAX_PENDING_COMMANDS


def test_an_agent_that_disconnects_fails_the_waiting_query_at_once(
    client: TestClient, container: Container, tenant: TenantFixture
) -> None:
    container.control.command_timeout = 60.0  # longer than the test may take: not a time-out
    agent = enrolled_agent(client, tenant)
    channel = AgentChannel(client, agent.key).__enter__()
    try:
        assert channel.next_frame()["type"] == "welcome"
        thread, answers = in_background(
            lambda: eventlog(client, tenant.operator.headers, agent.id, log="System")
        )
        assert channel.next_frame()["type"] == "command"
    finally:
        channel.__exit__(None, None, None)
    thread.join(WAIT_SECONDS)
    error = assert_error(answers[0], 409, "agent_offline")
    assert error["message"] == "the agent disconnected before answering"


def test_an_agent_answering_ok_false_is_a_502_with_its_message(
    client: TestClient, tenant: TenantFixture
) -> None:
    agent = enrolled_agent(client, tenant)

    def refuse(command: dict[str, Any]) -> dict[str, Any]:
        return {"ok": False, "error": "The specified channel could not be found.\x00"}

    with AgentChannel(client, agent.key, answer=refuse) as channel:
        assert channel.next_frame()["type"] == "welcome"
        answer = eventlog(client, tenant.operator.headers, agent.id, log="Nope")
    error = assert_error(answer, 502, "agent_failed")
    assert error["message"] == (
        "the agent could not run eventlog.query: The specified channel could not be found."
    )


BAD_ANSWERS: list[tuple[str, Any, str]] = [
    ("no records", {"rows": []}, "records"),
    ("records not a list", {"records": {"a": 1}}, "records"),
    ("more than asked", {"records": [record(i) for i in range(3)]}, "records"),
    ("a record not an object", {"records": ["x"]}, "records.0"),
    ("data not strings", {"records": [record(0, data={"Count": 3})]}, "records.0.data.Count"),
    ("data not an object", {"records": [record(0, data=["x"])]}, "records.0.data"),
    ("event id text", {"records": [record(0), record(1, event_id="7")]}, "records.1.event_id"),
    ("level a bool", {"records": [record(0, level=True)]}, "records.0.level"),
    (
        "time without zone",
        {"records": [record(0, time_created="2025-03-01T08:00:00")]},
        "records.0.time_created",
    ),
    ("huge message", {"records": [record(0, message="x" * 70_000)]}, "records.0.message"),
    (
        "no provider",
        {"records": [{k: v for k, v in record(0).items() if k != "provider"}]},
        "records.0.provider",
    ),
]


def test_an_answer_that_is_not_valid_records_is_a_502_naming_the_problem(
    client: TestClient, tenant: TenantFixture, subtests: pytest.Subtests
) -> None:
    """The agent runs on a customer's machine: what it sends is checked before anyone sees it."""
    agent = enrolled_agent(client, tenant)
    current: dict[str, Any] = {}

    def answer(command: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "data": current["data"]}

    with AgentChannel(client, agent.key, answer=answer) as channel:
        assert channel.next_frame()["type"] == "welcome"
        for label, data, place in BAD_ANSWERS:
            with subtests.test(label):
                current["data"] = data
                answer_ = eventlog(client, tenant.operator.headers, agent.id, log="System", limit=2)
                error = assert_error(answer_, 502, "agent_failed")
                assert error["message"].startswith("the agent's answer was refused: ")
                assert place in error["message"], error
        # Unknown keys are dropped; the record keeps the protocol's shape.
        current["data"] = {"records": [{**record(0), "script": "<script>"}]}
        fine = eventlog(client, tenant.operator.headers, agent.id, log="System")
        assert fine.json() == {"items": [record(0)]}


BAD_QUERIES: list[tuple[dict[str, Any], str]] = [
    ({}, "log"),
    ({"log": ""}, "log"),
    ({"log": "   "}, "log"),
    ({"log": "x" * 257}, "log"),
    ({"log": "System", "limit": 0}, "limit"),
    ({"log": "System", "limit": 501}, "limit"),
    ({"log": "System", "limit": "ten"}, "limit"),
    ({"log": "System", "level": "loud"}, "level"),
    ({"log": "System", "event_id": "x"}, "event_id"),
    ({"log": "System", "event_id": 70000}, "event_id"),
    ({"log": "System", "since": "2025-03-01T08:00:00"}, "since"),
    ({"log": "System", "until": "yesterday"}, "until"),
    ({"log": "System", "since": "2025-03-02T00:00:00Z", "until": "2025-03-01T00:00:00Z"}, "until"),
    ({"log": "System", "source": "x" * 257}, "source"),
]


def test_a_bad_query_is_a_422_naming_the_field(
    client: TestClient, tenant: TenantFixture, subtests: pytest.Subtests
) -> None:
    agent = enrolled_agent(client, tenant)
    with AgentChannel(client, agent.key, answer=answering([])) as channel:
        assert channel.next_frame()["type"] == "welcome"
        for params, field in BAD_QUERIES:
            with subtests.test(str(params)[:60]):
                answer = eventlog(client, tenant.operator.headers, agent.id, **params)
                assert_error(answer, 422, "invalid", field=field)
        assert channel.commands == []  # nothing reached the machine


def test_readonly_may_not_query_and_another_tenants_agent_is_missing_and_audited(
    client: TestClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    agent = enrolled_agent(client, tenant)
    with AgentChannel(client, agent.key, answer=answering([record(0)])) as channel:
        assert channel.next_frame()["type"] == "welcome"
        assert_error(eventlog(client, tenant.readonly.headers, agent.id, log="System"), 403)
        intruder = other_tenant.admin.headers
        theirs = eventlog(client, intruder, agent.id, log="System")
        random = eventlog(client, intruder, str(uuid.uuid4()), log="System")
        assert_error(theirs, 404, "not_found")
        assert error_shape(theirs) == error_shape(random)  # nothing tells them apart
        assert cross_tenant_entries(client, intruder) == []
        logged = cross_tenant_entries(client, tenant.admin.headers)
        assert [e["object_id"] for e in logged] == [agent.id]
        assert channel.commands == []


# Over a real socket


def test_over_a_real_server_a_rule_change_arrives_within_a_second_and_a_revoke_closes(
    container: Container, tenant: TenantFixture
) -> None:
    """uvicorn on 127.0.0.1 and the `websockets` client the agent uses: the upgrade's
    refusal, the hello, a push and the revocation, as a real agent meets them."""
    sock = bind_local()
    with live_server(create_app(container), sock) as base, httpx.Client(base_url=base) as http:
        tenant_client: Any = http  # the helpers take any client with TestClient's calls
        agent = enrolled_agent(tenant_client, tenant)
        url = base.replace("http://", "ws://") + "/api/v1/agent/ws"

        with pytest.raises(InvalidStatus) as refused:
            ws_connect(url, additional_headers={"Authorization": "Bearer fwa_nobody"})
        assert refused.value.response.status_code == 403

        with ws_connect(url, additional_headers={"Authorization": f"Bearer {agent.key}"}) as ws:
            hello = {"type": "hello", "config_version": FIRST_CONFIG_VERSION, "agent_version": "0"}
            ws.send(json.dumps(hello))
            assert json.loads(ws.recv(timeout=WAIT_SECONDS))["type"] == "welcome"
            watch = new_watch(tenant_client, tenant, {"type": "tenant"})
            frame = json.loads(ws.recv(timeout=1.0))
            assert rule_ids(frame) == [watch["id"]]

            revoked = http.post(f"{AGENTS}/{agent.id}/revoke", headers=tenant.admin.headers)
            assert revoked.status_code == 200, revoked.text
            with pytest.raises(ConnectionClosed) as closed:  # at once: no heartbeat needed
                ws.recv(timeout=WAIT_SECONDS)
        assert closed.value.rcvd is not None
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4401, "agent key revoked")
