"""The isolation and role matrix for agents and the timeline (see tests/support/matrix.py).

Enrolment tokens and agents: admins mint and revoke, every role reads; event-log
watch rules are settings too (admins write, every role reads). The
timeline is read by every role; its one route names a machine by the `pc_id`
query parameter, which the matrix treats as it treats a path parameter: another
tenant's machine is missing, and the attempt audited.

Reading a machine's event log (`/agents/{id}/eventlog`) runs a command on the
machine, so it needs write access (operators and admins); its target is an agent
connected over the real control channel that answers the command.

Enrolling and sending events take a token or the agent's own key, not an API
key: they are kept out of the matrix (OUTSIDE_THE_MATRIX in
test_isolation_matrix.py) and tested in test_agents_api.py and
test_timeline_api.py. Here they only make the objects the routes act on, as
in production.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from fleetward.bootstrap import Container
from fleetward.domain.identity import Access
from tests.conftest import Actor, TenantFixture
from tests.support.agents import EnrolledAgent, enrolled_agent, event, make_site, make_token
from tests.support.api import unique
from tests.support.channel import AgentChannel
from tests.support.matrix import (
    Refs,
    Route,
    Target,
    World,
    check_resource,
    collection_ids,
    items,
    resources,
)

# Who may call what is decided above the SQL, by the same tenant filter on both
# engines: the matrix runs on SQLite (the storage contract runs on both engines
# in the repository and API tests).
pytestmark = pytest.mark.sqlite_only

TOKENS = "/api/v1/enrollment-tokens"
TOKEN = TOKENS + "/{token_id}"
AGENTS = "/api/v1/agents"
AGENT = AGENTS + "/{agent_id}"
TIMELINE = "/api/v1/timeline"
WATCHES = "/api/v1/event-log-watches"
WATCH = WATCHES + "/{watch_id}"


def token_target(world: World, actor: Actor) -> Target:
    """A token for a new site of the owner's; minting another names that site."""
    site_id = make_site(world.client, world.owner)
    token_id = make_token(world.client, world.owner, site_id)["id"]
    return Target(
        {"token_id": token_id},
        token_id,
        token_id,
        lambda: (world.owner_get(f"{TOKENS}/{token_id}"), collection_ids(world, TOKENS)),
        lambda: {"site_id": site_id},
    )


def _agent(world: World) -> EnrolledAgent:
    return enrolled_agent(world.client, world.owner, unique("WS").replace(" ", "-"))


def agent_target(world: World, actor: Actor) -> Target:
    agent_id = _agent(world).id
    return Target(
        {"agent_id": agent_id},
        agent_id,
        agent_id,
        lambda: (world.owner_get(f"{AGENTS}/{agent_id}"), collection_ids(world, AGENTS)),
    )


# Channels the eventlog targets open; closed when the test ends (tests/verify's
# authorisation matrix uses the targets too, and closes them itself).
OPEN_CHANNELS: list[AgentChannel] = []
EVENT_RECORD = {
    "log_name": "System",
    "provider": "disk",
    "event_id": 7,
    "level": 2,
    "record_id": "5000",
    "time_created": "2025-03-01T08:00:00Z",
    "computer": "WS-01",
    "user_sid": None,
    "keywords": 0,
    "data": {},
    "message": "The device has a bad block.",
}


@pytest.fixture(autouse=True)
def _close_channels(client: TestClient) -> Iterator[None]:
    # Before the client's own teardown, which waits for every open connection to end.
    yield
    while OPEN_CHANNELS:
        OPEN_CHANNELS.pop().__exit__(None, None, None)


def eventlog_target(world: World, actor: Actor) -> Target:
    """An agent connected to the control channel, answering every command with one record."""
    agent = _agent(world)
    channel = AgentChannel(
        world.client,
        agent.key,
        answer=lambda command: {"ok": True, "data": {"records": [EVENT_RECORD]}},
    ).__enter__()
    OPEN_CHANNELS.append(channel)
    assert channel.next_frame()["type"] == "welcome"
    return Target(
        {"agent_id": agent.id, "log": "System"},
        agent.id,
        agent.id,
        lambda: (world.owner_get(f"{AGENTS}/{agent.id}"), collection_ids(world, AGENTS)),
    )


def expect_records(target: Target, response: httpx.Response) -> None:
    assert response.json() == {"items": [EVENT_RECORD]}


def timeline_target(world: World, actor: Actor) -> Target:
    """A machine that has sent a few events; the timeline names it as ?pc_id=."""
    agent = _agent(world)
    sent = world.client.post(
        "/api/v1/agent/events", json={"events": [event(i) for i in range(3)]}, headers=agent.headers
    )
    assert sent.json() == {"accepted": 3, "duplicates": 0}, sent.text
    return Target(
        {"pc_id": agent.id},
        agent.id,
        agent.id,
        lambda: (
            world.owner_get(f"{AGENTS}/{agent.id}"),
            items(world, f"{TIMELINE}?pc_id={agent.id}"),
        ),
    )


def watch_target(world: World, actor: Actor) -> Target:
    """A watch rule on a new site of the owner's; creating another names that site."""
    site_id = make_site(world.client, world.owner)
    watch_id = world.owner_post(WATCHES, new_watch({"site_id": site_id}))["id"]
    return Target(
        {"watch_id": watch_id},
        watch_id,
        watch_id,
        lambda: (world.owner_get(f"{WATCHES}/{watch_id}"), collection_ids(world, WATCHES)),
        lambda: {"site_id": site_id},
    )


def new_watch(refs: Refs) -> dict[str, Any]:
    return {
        "name": unique("Disk errors"),
        "scope": {"type": "site", "id": refs["site_id"]},
        "log_name": "System",
        "event_ids": [7, 51],
        "min_level": "warning",
        "alert_severity": "major",
    }


def expect_watch(target: Target, response: httpx.Response) -> None:
    made = response.json()
    assert made["scope"] == {"type": "site", "id": target.refs()["site_id"]}
    assert made["id"] in target.snapshot()[1]


def new_token(refs: Refs) -> dict[str, Any]:
    return {"site_id": refs["site_id"], "name": unique("Rollout")}


def expect_token(target: Target, response: httpx.Response) -> None:
    made = response.json()
    assert made["token"].startswith("fwe_")
    assert made["site_id"] == target.refs()["site_id"]


def expect_revoked(target: Target, response: httpx.Response) -> None:
    answer = response.json()
    assert answer["id"] == target.id
    assert answer["revoked_at"] is not None
    assert target.snapshot()[0]["revoked_at"] == answer["revoked_at"]


def expect_machines_events(target: Target, response: httpx.Response) -> None:
    shown = response.json()["items"]
    assert len(shown) == 3
    assert {e["pc_id"] for e in shown} == {target.id}
    assert shown == target.snapshot()[1]


READ, WRITE, ADMIN = Access.READ, Access.WRITE, Access.ADMIN

ROUTES = [
    Route("GET", TOKENS, READ, token_target),
    Route("POST", TOKENS, ADMIN, token_target, body_from=new_token, expect=expect_token),
    Route("GET", TOKEN, READ, token_target),
    Route("POST", TOKEN + "/revoke", ADMIN, token_target, status=200, expect=expect_revoked),
    Route("GET", AGENTS, READ, agent_target),
    Route("GET", AGENT, READ, agent_target),
    Route("POST", AGENT + "/revoke", ADMIN, agent_target, status=200, expect=expect_revoked),
    Route(
        "GET", AGENT + "/eventlog", WRITE, eventlog_target, query=("log",), expect=expect_records
    ),
    Route("GET", TIMELINE, READ, timeline_target, query=("pc_id",), expect=expect_machines_events),
    Route("GET", WATCHES, READ, watch_target),
    Route("POST", WATCHES, ADMIN, watch_target, body_from=new_watch, expect=expect_watch),
    Route("GET", WATCH, READ, watch_target),
    Route("PATCH", WATCH, ADMIN, watch_target, body=lambda: {"enabled": False}),
    Route("DELETE", WATCH, ADMIN, watch_target),
]


@pytest.fixture
def world(
    client: TestClient, container: Container, tenant: TenantFixture, other_tenant: TenantFixture
) -> World:
    return World(client, container, tenant, other_tenant)


@pytest.mark.parametrize("resource", resources(ROUTES))
def test_each_route_answers_each_caller_as_its_access_says(
    world: World, resource: str, subtests: pytest.Subtests
) -> None:
    check_resource(world, ROUTES, resource, subtests)


def test_the_whole_timeline_shows_the_callers_own_machines_only(world: World) -> None:
    """Without pc_id the timeline is the tenant's: each side sees its own events, no more."""
    owners = timeline_target(world, world.owner.admin)
    owners_before = owners.snapshot()
    theirs = enrolled_agent(world.client, world.other, "THEIRS-01")
    sent = world.client.post(
        "/api/v1/agent/events", json={"events": [event(9)]}, headers=theirs.headers
    )
    assert sent.status_code == 200, sent.text

    for tenant, machine in ((world.owner, owners.id), (world.other, theirs.id)):
        for actor in tenant.actors.values():
            answer = world.call("GET", f"{TIMELINE}?limit=500", actor.headers)
            assert answer.status_code == 200, answer.text
            assert {e["pc_id"] for e in answer.json()["items"]} == {machine}
    assert owners.snapshot() == owners_before
