"""Timeline intake from agents and queries by people: on both engines, through the REST API."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from fleetward.bootstrap import Container
from fleetward.entrypoints.http.app import create_app
from tests.conftest import TenantFixture
from tests.support.agent_live import wait_for
from tests.support.agents import T0, EnrolledAgent, enrolled_agent, event
from tests.support.api import assert_error, cross_tenant_entries

EVENTS = "/api/v1/agent/events"
TIMELINE = "/api/v1/timeline"


@pytest.fixture
def agent(client: TestClient, tenant: TenantFixture) -> EnrolledAgent:
    return enrolled_agent(client, tenant)


def send(client: TestClient, agent: EnrolledAgent, events: list[dict[str, Any]]) -> Any:
    return client.post(EVENTS, json={"events": events}, headers=agent.headers)


def everything(client: TestClient, tenant: TenantFixture, **params: Any) -> list[dict[str, Any]]:
    """Every page of a query, walked with the cursor."""
    items: list[dict[str, Any]] = []
    query = {"limit": 500, **params}
    while True:
        answer = client.get(TIMELINE, params=query, headers=tenant.readonly.headers)
        assert answer.status_code == 200, answer.text
        items += answer.json()["items"]
        if answer.json()["next"] is None:
            return items
        query["cursor"] = answer.json()["next"]


def test_a_batch_is_accepted_and_a_resend_is_all_duplicates(
    client: TestClient, tenant: TenantFixture, agent: EnrolledAgent
) -> None:
    batch = [event(i) for i in range(50)]
    first = send(client, agent, batch)
    assert first.status_code == 200, first.text
    assert first.json() == {"accepted": 50, "duplicates": 0}
    stored = everything(client, tenant)
    again = send(client, agent, batch)
    assert again.json() == {"accepted": 0, "duplicates": 50}
    assert everything(client, tenant) == stored, "a re-send changes nothing"

    mixed = batch[40:] + [event(i) for i in range(50, 60)]
    assert send(client, agent, mixed).json() == {"accepted": 10, "duplicates": 10}
    assert len(everything(client, tenant)) == 60


def test_events_without_a_record_id_dedupe_on_resend(
    client: TestClient, tenant: TenantFixture, agent: EnrolledAgent
) -> None:
    batch = [event(i) for i in range(5)]
    for e in batch:
        del e["event_record_id"]
    batch.append(event(9, event_record_id=None, payload=None))
    assert send(client, agent, batch).json() == {"accepted": 6, "duplicates": 0}
    # The same moment written another way is the same event.
    same = dict(batch[0], at=datetime.fromisoformat(batch[0]["at"]).astimezone().isoformat())
    same["payload"] = dict(reversed(list(batch[0]["payload"].items())))
    assert send(client, agent, [*batch, same]).json() == {"accepted": 0, "duplicates": 7}
    ids = {e["event_record_id"] for e in everything(client, tenant)}
    assert len(ids) == 6 and all(i.startswith("sha256:") for i in ids)


def test_a_kind_this_server_has_no_name_for_is_stored_and_queried_as_sent(
    client: TestClient, tenant: TenantFixture, agent: EnrolledAgent
) -> None:
    # A newer agent's moment: kinds are open-ended, so nothing is refused or lost.
    usb = event(1, kind="usb.device-inserted", payload={"device": "Kingston"})
    answer = send(client, agent, [event(0), usb])
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"accepted": 2, "duplicates": 0}
    (found,) = everything(client, tenant, kind=["usb.device-inserted"])
    assert found["kind"] == "usb.device-inserted" and found["payload"] == {"device": "Kingston"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "Re Boot!"}, "events.3.kind"),
        ({"kind": "k" * 31}, "events.3.kind"),
        ({"source": "System"}, "events.3.source"),
        ({"at": "2025-03-01T08:00:00"}, "events.3.at"),
        ({"at": "yesterday"}, "events.3.at"),
        ({"payload": [1, 2]}, "events.3.payload"),
        ({"event_record_id": ""}, "events.3.event_record_id"),
        ({"event_record_id": "r" * 301}, "events.3.event_record_id"),
        ({"colour": "red"}, "events.3.colour"),
    ],
)
def test_one_bad_event_refuses_the_whole_batch_naming_it(
    client: TestClient,
    tenant: TenantFixture,
    agent: EnrolledAgent,
    change: dict[str, Any],
    field: str,
) -> None:
    batch = [event(i) for i in range(6)]
    batch[3] = {**batch[3], **change}
    assert_error(send(client, agent, batch), 422, "invalid", field=field)
    assert everything(client, tenant) == [], "all or nothing"


def test_bad_batch_shapes_are_4xx(client: TestClient, agent: EnrolledAgent) -> None:
    h = agent.headers
    assert_error(client.post(EVENTS, content=b"{nope", headers=h), 422, field="body")
    assert_error(client.post(EVENTS, json=[1], headers=h), 422, field="events")
    assert_error(client.post(EVENTS, json={"events": {}}, headers=h), 422, field="events")
    assert_error(client.post(EVENTS, json={"events": [], "x": 1}, headers=h), 422, field="x")
    assert client.post(EVENTS, json={"events": []}, headers=h).json() == {
        "accepted": 0,
        "duplicates": 0,
    }
    assert_error(client.post(EVENTS, json={"events": [7]}, headers=h), 422, field="events.0")
    brotli = {**h, "Content-Encoding": "br"}
    assert_error(client.post(EVENTS, content=b"{}", headers=brotli), 422)


def test_more_than_5000_events_is_refused_with_a_message(
    client: TestClient, tenant: TenantFixture, agent: EnrolledAgent
) -> None:
    batch = [{"at": "2025-03-01T08:00:00Z", "kind": "boot", "source": "a:b"}] * 5001
    body = gzip.compress(orjson.dumps({"events": batch}))
    headers = {**agent.headers, "Content-Encoding": "gzip", "Content-Type": "application/json"}
    error = assert_error(client.post(EVENTS, content=body, headers=headers), 413, "too_large")
    assert "5000" in error["message"]
    assert everything(client, tenant) == []


def test_gzip_bodies_work_and_a_gzip_bomb_is_refused(
    client: TestClient, tenant: TenantFixture, agent: EnrolledAgent
) -> None:
    headers = {**agent.headers, "Content-Encoding": "gzip", "Content-Type": "application/json"}
    batch = [event(i) for i in range(1000)]
    body = gzip.compress(orjson.dumps({"events": batch}))
    answer = client.post(EVENTS, content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"accepted": 1000, "duplicates": 0}

    # ~40 KiB on the wire, 40 MiB inflated: under the body limit, over the inflate cap.
    bomb = gzip.compress(b'{"events": [' + b" " * (40 * 1024 * 1024) + b"]}", compresslevel=9)
    assert len(bomb) < 1024 * 1024
    assert_error(client.post(EVENTS, content=bomb, headers=headers), 413, "too_large")
    assert_error(client.post(EVENTS, content=b"not gzip", headers=headers), 422, field="body")
    assert_error(client.post(EVENTS, content=body[:-20], headers=headers), 422, field="body")
    assert len(everything(client, tenant)) == 1000


def test_query_filters_and_pagination(
    client: TestClient, tenant: TenantFixture, agent: EnrolledAgent
) -> None:
    other = enrolled_agent(client, tenant, "WS-02")
    assert send(client, agent, [event(i) for i in range(120)]).json()["accepted"] == 120
    assert send(client, other, [event(i) for i in range(10)]).json()["accepted"] == 10

    mine = everything(client, tenant, pc_id=agent.id)
    assert len(mine) == 120 and {e["pc_id"] for e in mine} == {agent.id}
    times = [(e["at"], e["id"]) for e in mine]
    assert times == sorted(times, reverse=True), "newest first"
    assert len(everything(client, tenant)) == 130

    # Small pages walk every event exactly once.
    seen: list[int] = []
    params: dict[str, Any] = {"pc_id": agent.id, "limit": 7}
    while True:
        page = client.get(TIMELINE, params=params, headers=tenant.operator.headers).json()
        seen += [e["id"] for e in page["items"]]
        if page["next"] is None:
            break
        params["cursor"] = page["next"]
    assert seen == [e["id"] for e in mine]

    logons = everything(client, tenant, pc_id=agent.id, kind=["logon", "boot"])
    assert len(logons) == 60 and {e["kind"] for e in logons} == {"logon", "boot"}
    system = everything(client, tenant, pc_id=agent.id, source=["winlog:System"])
    assert len(system) == 40
    both = everything(client, tenant, pc_id=agent.id, source=["winlog:System", "winlog:Security"])
    assert len(both) == 80
    window = everything(
        client,
        tenant,
        pc_id=agent.id,
        since=(T0 + timedelta(minutes=10)).isoformat(),
        until=(T0 + timedelta(minutes=20)).isoformat(),
    )
    assert len(window) == 10 and window[-1]["at"].startswith("2025-03-01T08:10")
    alice = everything(client, tenant, pc_id=agent.id, payload=["user:user1"])
    assert len(alice) == 40 and {e["payload"]["user"] for e in alice} == {"user1"}
    # Numbers in the payload compare as their text, on both engines.
    rdp = everything(client, tenant, pc_id=agent.id, payload=["user:user1", "logon_type:10"])
    assert rdp and all(e["payload"] == {"user": "user1", "logon_type": 10} for e in rdp)
    assert len(rdp) == 20
    assert everything(client, tenant, payload=["nope:x"]) == []


def test_query_refuses_bad_filters_naming_them(
    client: TestClient, tenant: TenantFixture, agent: EnrolledAgent
) -> None:
    h = tenant.readonly.headers
    for params, field in (
        ({"kind": "Re Boot!"}, "kind"),
        ({"since": "2025-01-01T00:00:00"}, "since"),
        ({"until": "soon"}, "until"),
        ({"payload": "no-colon"}, "payload"),
        ({"payload": "bad key:x"}, "payload"),
        ({"cursor": "garbage"}, "cursor"),
        ({"pc_id": "not-a-uuid"}, "pc_id"),
    ):
        assert_error(client.get(TIMELINE, params=params, headers=h), 422, field=field)
    assert_error(client.get(TIMELINE), 401)


def test_another_tenants_machine_is_missing_and_audited(
    client: TestClient, tenant: TenantFixture, other_tenant: TenantFixture, agent: EnrolledAgent
) -> None:
    send(client, agent, [event(i) for i in range(3)])
    intruder = other_tenant.readonly.headers
    answer = client.get(TIMELINE, params={"pc_id": agent.id}, headers=intruder)
    assert_error(answer, 404, "not_found")
    assert cross_tenant_entries(client, other_tenant.admin.headers) == []
    attempts = cross_tenant_entries(client, tenant.admin.headers)
    assert [e["object_id"] for e in attempts] == [agent.id]
    assert [e["actor_label"] for e in attempts] == [f"{other_tenant.readonly.email} (api key)"]
    assert client.get(TIMELINE, headers=intruder).json()["items"] == []


def test_retention_cleanup_deletes_only_old_events(
    client: TestClient, container: Container, tenant: TenantFixture, agent: EnrolledAgent
) -> None:
    now = datetime.now(UTC)
    old = [event(i, at=(now - timedelta(days=91, minutes=i)).isoformat()) for i in range(5)]
    recent = [event(i, at=(now - timedelta(days=89, minutes=i)).isoformat()) for i in range(5, 8)]
    assert send(client, agent, old + recent).json()["accepted"] == 8
    assert container.timeline.cleanup(90) == 5
    kept = everything(client, tenant)
    assert sorted(e["event_record_id"] for e in kept) == ["1005", "1006", "1007"]
    assert container.timeline.cleanup(90) == 0


def test_the_server_runs_the_retention_cleanup_by_itself(
    client: TestClient, container: Container, tenant: TenantFixture, agent: EnrolledAgent
) -> None:
    now = datetime.now(UTC)
    old = [event(i, at=(now - timedelta(days=91, minutes=i)).isoformat()) for i in range(4)]
    recent = [event(i, at=(now - timedelta(days=1, minutes=i)).isoformat()) for i in range(4, 6)]
    assert send(client, agent, old + recent).json()["accepted"] == 6
    container.settings = container.settings.model_copy(
        update={"scheduler_enabled": True, "timeline_cleanup_interval_seconds": 1}
    )
    with TestClient(create_app(container)):  # its lifespan runs the scheduler
        wait_for(lambda: len(everything(client, tenant)) == 2, 30, "the cleanup job")
    assert sorted(e["event_record_id"] for e in everything(client, tenant)) == ["1004", "1005"]


def test_a_batch_sent_again_after_cleanup_deleted_it_is_stored_again(
    client: TestClient, container: Container, tenant: TenantFixture, agent: EnrolledAgent
) -> None:
    # The second send is the same bytes: the process must not answer it from
    # its memory of committed batches once those events are gone.
    now = datetime.now(UTC)
    old = [event(i, at=(now - timedelta(days=91, minutes=i)).isoformat()) for i in range(3)]
    assert send(client, agent, old).json() == {"accepted": 3, "duplicates": 0}
    assert send(client, agent, old).json() == {"accepted": 0, "duplicates": 3}
    assert container.timeline.cleanup(90) == 3
    assert send(client, agent, old).json() == {"accepted": 3, "duplicates": 0}
    assert len(everything(client, tenant)) == 3


def test_the_same_bytes_from_another_agent_are_that_agents_own_events(
    client: TestClient, tenant: TenantFixture, agent: EnrolledAgent
) -> None:
    batch = [event(i) for i in range(4)]
    assert send(client, agent, batch).json() == {"accepted": 4, "duplicates": 0}
    other = enrolled_agent(client, tenant, "WS-02")
    assert send(client, other, batch).json() == {"accepted": 4, "duplicates": 0}
    assert len(everything(client, tenant, pc_id=other.id)) == 4


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_sqlite_fast_path_stores_times_as_sqlalchemy_would(container: Container) -> None:
    from sqlalchemy.dialects import sqlite

    from fleetward.adapters.storage import schema
    from fleetward.adapters.storage.hot_sql import sqlite_utc_text as _sqlite_time

    bind = schema.obs_event.c.at.type.dialect_impl(sqlite.dialect()).bind_processor(
        sqlite.dialect()
    )
    for at in (T0, T0.replace(microsecond=0), datetime(1999, 12, 31, 23, 59, 59, 5, tzinfo=UTC)):
        assert _sqlite_time(at) == bind(at)
        assert _sqlite_time(at.astimezone()) == bind(at)
    # From the text an agent sent: rearranged when it is UTC, formatted otherwise.
    for sent in (
        "2024-05-01T10:00:00Z",
        "2024-05-01T10:00:00+00:00",
        "2024-05-01T10:00:00.5Z",
        "2024-05-01T10:00:00.123456+00:00",
        "2024-05-01T12:00:00.000001+02:00",
        "2024-05-01 10:00:00Z",
    ):
        at = datetime.fromisoformat(sent)
        assert _sqlite_time(at, sent) == bind(at), sent


AWKWARD = {
    "quote": 'say "hi"',
    "backslash": "C:\\Users\\ana\\x.txt",
    "unicode": "café ✓ 東京 🎉",
    "escapes": "tab\there\nnewline \\u0041",
    "nested": {"list": [1, 2.5, None, True, {"deep": ["x"]}], "empty": {}},
    "number": 12345678901234567,
}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("one_statement", [True, False], ids=["json_each", "executemany"])
def test_a_batch_reads_back_exactly_as_sent_with_either_sqlite_insert(
    client: TestClient,
    tenant: TenantFixture,
    agent: EnrolledAgent,
    monkeypatch: pytest.MonkeyPatch,
    one_statement: bool,
) -> None:
    """The one-statement insert (json_each) and executemany, which a SQLite
    older than 3.38 gets, store the same rows, in the order sent."""
    from fleetward.adapters.storage import agent_repositories

    monkeypatch.setattr(agent_repositories, "_has_json_each", lambda: one_statement)
    batch = [
        event(0, payload=AWKWARD, source="winlog:Microsoft-Windows-Security 'Auditing'"),
        event(1, payload=None),
        event(2, event_record_id='rec "2" \\ ✓'),
        event(3, at=(T0 + timedelta(minutes=3, microseconds=7)).isoformat()),
        event(0, payload=AWKWARD, source="winlog:Microsoft-Windows-Security 'Auditing'"),
    ]
    assert send(client, agent, batch).json() == {"accepted": 4, "duplicates": 1}
    stored = sorted(everything(client, tenant), key=lambda e: e["id"])
    assert [e["payload"] for e in stored] == [
        AWKWARD,
        None,
        batch[2]["payload"],
        batch[3]["payload"],
    ]
    assert [e["event_record_id"] for e in stored] == ["1000", "1001", 'rec "2" \\ ✓', "1003"]
    assert stored[0]["source"] == batch[0]["source"]
    sent_times = [datetime.fromisoformat(e["at"]) for e in batch[:4]]
    assert [datetime.fromisoformat(e["at"]) for e in stored] == sent_times


def test_the_cleanup_command_uses_the_retention_setting(
    client: TestClient, agent: EnrolledAgent, database_url: str, tmp_path: Any
) -> None:
    from typer.testing import CliRunner

    from fleetward.entrypoints.cli import app

    now = datetime.now(UTC)
    batch = [event(i, at=(now - timedelta(days=10 * i + 5)).isoformat()) for i in range(4)]
    assert send(client, agent, batch).json()["accepted"] == 4  # 5, 15, 25 and 35 days old
    run = CliRunner().invoke(
        app,
        ["--data-dir", str(tmp_path), "--database-url", database_url, "timeline", "cleanup"],
        env={"FLEETWARD_TIMELINE_RETENTION_DAYS": "20"},
    )
    assert run.exit_code == 0, run.output
    assert "deleted 2 timeline events older than 20 days" in run.output


def test_events_with_nul_control_characters_or_lone_surrogates_are_stored_cleaned(
    client: TestClient, tenant: TenantFixture, agent: EnrolledAgent
) -> None:
    """On both engines (PostgreSQL refuses NUL in text and jsonb): the events are kept,
    their text cleaned, rather than the whole batch refused and lost."""
    batch = [
        event(0, source="winlog:Sys\\u0000tem", payload={"note": "nul \\u0000 \\ud800 x\\r\\ny"}),
        event(1, event_record_id="r\\u0007 1", payload={"key\\u0000": ["\\u0085", "\\t"]}),
    ]
    body = orjson.dumps({"events": batch}).decode().replace("\\\\", "\\")
    answer = client.post(EVENTS, content=body.encode(), headers=agent.headers)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"accepted": 2, "duplicates": 0}

    stored = {e["event_record_id"]: e for e in everything(client, tenant)}
    assert stored["1000"]["source"] == "winlog:Sys\ufffdtem"
    assert stored["1000"]["payload"] == {"note": "nul \ufffd \ufffd x\ny"}
    assert stored["r\ufffd 1"]["payload"] == {"key\ufffd": ["\ufffd", "\t"]}
    found = everything(client, tenant, source=["winlog:Sys\ufffdtem"])
    assert [e["event_record_id"] for e in found] == ["1000"]
    again = client.post(EVENTS, content=body.encode(), headers=agent.headers)
    assert again.json() == {"accepted": 0, "duplicates": 2}


def test_an_agents_own_pc_id_is_its_id_in_either_case(
    client: TestClient, tenant: TenantFixture, agent: EnrolledAgent
) -> None:
    """Windows tools print a GUID in capitals: still this agent's id, and only its."""
    mine = [event(0, pc_id=agent.id.upper()), event(1, pc_id=agent.id.lower())]
    answer = send(client, agent, mine)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"accepted": 2, "duplicates": 0}
    assert {e["pc_id"] for e in everything(client, tenant)} == {agent.id}
    other = enrolled_agent(client, tenant)
    refused = send(client, agent, [event(2, pc_id=other.id.upper())])
    assert_error(refused, 422, "invalid", field="events.0.pc_id")
