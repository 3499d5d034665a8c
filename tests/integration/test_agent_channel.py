"""The agent control channel (WebSocket).

The test plays the agent over the app's real WebSocket (tests/support/channel.py)
and checks what docs/agent-protocol.md promises: config on a stale hello, welcome
on a current one, a push on every watch change that reaches the agent and nothing
for those it does not, revocation, bad frames and heartbeats. The event-log query
relayed over the channel is in test_agent_eventlog_query.py.
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
from tests.conftest import FAST_PASSWORDS, TenantFixture, make_tenant
from tests.support.agent_watches import (
    AGENTS,
    WATCHES,
    agent_at,
    as_config,
    new_client,
    new_site,
    new_watch,
    rule_ids,
    stored_version,
)
from tests.support.agents import EnrolledAgent, enroll, enrolled_agent, make_site, make_token
from tests.support.api import assert_error
from tests.support.channel import WAIT_SECONDS, AgentChannel
from tests.support.clocks import ManualClock as Clock
from tests.support.live_server import bind_local
from tests.support.live_server import serve as live_server

# Pages and agent processes do not depend on the engine: SQLite only (the storage
# contract runs on both engines in the repository and API tests).
pytestmark = pytest.mark.sqlite_only


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
    (
        "sources not a list",
        '{"type": "hello", "config_version": 1, "sources": "System"}',
        "hello.sources",
    ),
    ("a blank source", '{"type": "hello", "config_version": 1, "sources": [""]}', "hello.sources"),
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


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2025, 3, 1, 8, 0, tzinfo=UTC))


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
