"""`fleetward evtx import` on the real .evtx fixtures, run as a person would, on both engines.

Every expected figure comes from the files themselves, read with the same
collector and classified by the domain; none is typed in from memory.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from fleetward.bootstrap import Container
from fleetward.domain.alerts import Severity
from fleetward.domain.eventlog import DamagedRecord, EventRecord, MinLevel, WatchRule, matches
from fleetward.domain.timeline import classify
from fleetward.entrypoints.cli import app
from fleetward.evtx_reader import read_evtx
from tests.conftest import TenantFixture
from tests.support.agents import EnrolledAgent, enrolled_agent
from tests.support.components import evtx_fixtures
from tests.support.eventlog import alerts, new_watch
from tests.support.pipeline import add_rule, tickets

DAMAGED = "omerbenamram-evtx_sample-with-zero-data-size-event.evtx"
SYSTEM = "python-evtx_system.evtx"

runner = CliRunner()
Cli = Callable[..., Result]


def fixture(name: str) -> Path:
    path = evtx_fixtures() / name
    if not path.is_file():
        pytest.fail(f"the .evtx fixture {name}" + " is missing from tests/fixtures/evtx")
    return path


def all_fixtures() -> list[Path]:
    found = sorted(evtx_fixtures().glob("*.evtx"))
    if not found:
        pytest.fail("the .evtx fixtures" + " is missing from tests/fixtures/evtx")
    return found


@dataclass
class Expected:
    """What a file holds, by the collector and the domain's classifier."""

    good: list[EventRecord] = field(default_factory=list)
    damaged: list[DamagedRecord] = field(default_factory=list)
    moments: set[tuple[str, str | None]] = field(default_factory=set)  # (source, record id)


def expected(path: Path) -> Expected:
    found = Expected()
    for item in read_evtx(path):
        if isinstance(item, DamagedRecord):
            found.damaged.append(item)
            continue
        found.good.append(item)
        observation = classify(item)
        if observation is not None:
            found.moments.add((observation.source, observation.event_record_id))
    return found


@pytest.fixture
def cli(database_url: str, tmp_path: Path) -> Cli:
    def run(*args: str) -> Result:
        return runner.invoke(
            app, ["--data-dir", str(tmp_path), "--database-url", database_url, *args]
        )

    return run


@pytest.fixture
def agent(client: TestClient, tenant: TenantFixture) -> EnrolledAgent:
    return enrolled_agent(client, tenant)


def timeline(client: TestClient, tenant: TenantFixture, agent: EnrolledAgent) -> list[Any]:
    items: list[Any] = []
    query: dict[str, Any] = {"pc_id": agent.id, "limit": 500}
    while True:
        page = client.get("/api/v1/timeline", params=query, headers=tenant.readonly.headers)
        assert page.status_code == 200, page.text
        items += page.json()["items"]
        if page.json()["next"] is None:
            return items
        query["cursor"] = page.json()["next"]


def line_of(result: Result, name: str) -> str:
    (line,) = [line for line in result.stdout.splitlines() if line.startswith(f"{name}:")]
    return line


def test_every_fixture_fills_the_timeline_once_and_a_second_import_adds_nothing(
    cli: Cli, client: TestClient, tenant: TenantFixture, agent: EnrolledAgent
) -> None:
    files = all_fixtures()
    first = cli("evtx", "import", "--agent", agent.id, *map(str, files))
    assert first.exit_code == 0, first.output

    seen: set[tuple[str, str | None]] = set()
    for path in files:
        wanted = expected(path)
        # Logs of different machines may reuse a record id in one channel: on one
        # agent those are the same timeline event, so count only what is new.
        added = len(wanted.moments - seen)
        seen |= wanted.moments
        line = line_of(first, path.name)
        assert f"{len(wanted.good)} good records, {len(wanted.damaged)} damaged skipped" in line
        assert f"timeline {added} added, {len(wanted.moments) - added} duplicates" in line
    stored = timeline(client, tenant, agent)
    assert len(stored) == len(seen)
    assert {(e["source"], e["event_record_id"]) for e in stored} == seen
    # Human logons only, as the classifier decides: no service logon made it in.
    audited = [e for e in stored if e["payload"]["event_id"] == 4624]
    assert audited and all(e["payload"]["logon_type"] in (2, 10, 11) for e in audited)

    second = cli("evtx", "import", "--agent", agent.id, *map(str, files))
    assert second.exit_code == 0, second.output
    for path in files:
        wanted = expected(path)
        assert f"timeline 0 added, {len(wanted.moments)} duplicates" in line_of(second, path.name)
    assert timeline(client, tenant, agent) == stored


def test_a_damaged_record_is_named_and_the_rest_imported(
    cli: Cli, client: TestClient, tenant: TenantFixture, agent: EnrolledAgent
) -> None:
    path = fixture(DAMAGED)
    wanted = expected(path)
    assert wanted.damaged and wanted.good, "the fixture holds both good and damaged records"
    result = cli("evtx", "import", "--agent", agent.id, str(path))
    assert result.exit_code == 0, result.output
    assert f"{len(wanted.good)} good records, {len(wanted.damaged)} damaged skipped" in (
        line_of(result, path.name)
    )
    for damage in wanted.damaged:
        (told,) = [
            line for line in result.stdout.splitlines() if f"position {damage.position}" in line
        ]
        assert f"after record {damage.previous_record_id}" in told
        assert f"before record {damage.next_record_id}" in told
        assert damage.reason in told
    assert len(timeline(client, tenant, agent)) == len(wanted.moments)


def test_watch_rules_turn_imported_records_into_alerts_and_tickets_once(
    cli: Cli,
    client: TestClient,
    container: Container,
    tenant: TenantFixture,
    agent: EnrolledAgent,
) -> None:
    path = fixture(SYSTEM)
    add_rule(container, tenant.id)
    watched = new_watch(
        client,
        tenant,
        {"type": "agent", "id": agent.id},
        name="Service start type changed",
        providers=["Service Control Manager"],
        event_ids=[7040],
        min_level="information",
        alert_severity="minor",
    )
    # A rule of another site never fires on this agent's import.
    elsewhere = enrolled_agent(client, tenant, "WS-99")
    new_watch(client, tenant, {"type": "site", "id": elsewhere.site_id}, event_ids=[], providers=[])
    rule = WatchRule(
        id=watched["id"],
        log_name="System",
        event_ids=frozenset({7040}),
        providers=("Service Control Manager",),
        min_level=MinLevel.INFORMATION,
        alert_severity=Severity.MINOR,
    )
    hits = [r for r in expected(path).good if matches(rule, r)]
    assert hits, "the fixture holds records the rule watches for"

    first = cli("evtx", "import", "--agent", agent.id, str(path))
    assert first.exit_code == 0, first.output
    assert f"{len(hits)} watch-rule matches: {len(hits)} alerts created" in line_of(
        first, path.name
    )
    made = alerts(container, tenant.id)
    assert sorted(a.external_alert_id for a in made) == sorted(
        f"evtlog:{agent.id}:{watched['id']}:{r.record_id}" for r in hits
    )
    assert {a.severity for a in made} == {Severity.MINOR}
    (opened,) = tickets(container, tenant.id)  # one machine, one rule: one ticket
    assert opened.occurrence_count == len(hits)

    second = cli("evtx", "import", "--agent", agent.id, str(path))
    assert second.exit_code == 0, second.output
    assert f"0 alerts created (0 to tickets, 0 suppressed), {len(hits)} duplicates" in (
        line_of(second, path.name)
    )
    assert len(alerts(container, tenant.id)) == len(hits)
    assert tickets(container, tenant.id) == [opened]


def test_mistakes_are_one_clear_line_and_a_non_zero_exit(
    cli: Cli, tmp_path: Path, agent: EnrolledAgent
) -> None:
    real = str(fixture(DAMAGED))
    text = tmp_path / "notes.evtx"
    text.write_text("not an event log")
    cases = {
        ("--agent", str(uuid.uuid4()), real): "no agent has the id",
        ("--agent", "WS-01", real): "is not an agent id",
        ("--agent", agent.id, str(text)): "is not an .evtx file",
        ("--agent", agent.id, str(tmp_path / "missing.evtx")): "no such file",
        ("--agent", agent.id, real, str(text)): "is not an .evtx file",
    }
    for args, message in cases.items():
        result = cli("evtx", "import", *args)
        assert result.exit_code == 1, (args, result.output)
        assert message in " ".join(result.output.split()), (args, result.output)
        assert "Traceback" not in result.output
