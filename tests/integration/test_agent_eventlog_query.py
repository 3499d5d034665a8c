"""The event-log query, relayed to an agent as a command over its control channel.

The test plays the agent over the app's real WebSocket (tests/support/channel.py)
and checks what docs/agent-protocol.md promises of commands: the records answered,
and each failure (not connected, no answer in time, too many waiting, a disconnect,
ok false, records that are not valid) as its own clear status.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from fleetward.bootstrap import Container
from fleetward.services.agent_control import MAX_PENDING_COMMANDS
from tests.conftest import TenantFixture
from tests.support.agent_watches import AGENTS
from tests.support.agents import enrolled_agent
from tests.support.api import assert_error, audit_entries, cross_tenant_entries, error_shape
from tests.support.channel import WAIT_SECONDS, AgentChannel

# Pages and agent processes do not depend on the engine: SQLite only (the storage
# contract runs on both engines in the repository and API tests).
pytestmark = pytest.mark.sqlite_only


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
