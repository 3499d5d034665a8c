"""The real agent process against the real server, both on 127.0.0.1, both killable.

`fleetward serve` runs in its own process, on SQLite and on PostgreSQL; `fleetward agent
run` reads a folder holding copies of the .evtx fixtures. What the timeline
must show is derived from the same files by the domain classifier. Watch
rules reaching the agent over the control channel and becoming alerts are in
test_agent_end_to_end.py.
"""

from __future__ import annotations

import json
import random
import shutil
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from fleetward.domain.eventlog import DamagedRecord, EventRecord
from fleetward.domain.timeline import classify, classify_journal
from fleetward.evtx_reader import read_evtx
from tests.support import agent_journalctl
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

DELIVERY_S = 60.0  # generous bound for everything to arrive
JOURNALS = Path(__file__).resolve().parents[1] / "fixtures" / "journald"


def fixture_files() -> list[Path]:
    files = sorted(evtx_fixtures().glob("*.evtx"))
    if not files:
        pytest.fail("the .evtx fixtures" + " is missing from tests/fixtures/evtx")
    return files


def expected_timeline() -> tuple[set[tuple[str, str]], int]:
    """(source, event_record_id) of every timeline moment in the fixtures, and damaged records."""
    moments: set[tuple[str, str]] = set()
    damaged = 0
    for path in fixture_files():
        for found in read_evtx(path):
            if isinstance(found, DamagedRecord):
                damaged += 1
            elif isinstance(found, EventRecord) and (seen := classify(found)) is not None:
                assert seen.event_record_id is not None
                moments.add((seen.source, seen.event_record_id))
    return moments, damaged


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    folder = tmp_path / "evtx"
    folder.mkdir()
    for path in fixture_files():
        shutil.copy(path, folder / path.name)
    return folder


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[LiveServer]:
    """`fleetward serve` on each engine (the conftest's fresh database)."""
    with running_server(tmp_path, database_url) as live:
        yield live


@pytest.fixture
def agents() -> Iterator[list[LiveAgent]]:
    with agent_processes() as started:
        yield started


def new_agent(
    server: LiveServer, tmp_path: Path, logs: Path, agents: list[LiveAgent], *extra: str
) -> LiveAgent:
    home = tmp_path / "agent"
    home.mkdir(exist_ok=True)
    args = ["--evtx-dir", str(logs), "--poll-seconds", "0.5", *extra]
    agent = LiveAgent(server.url, home / "state", args, token=server.enrolment_token())
    agents.append(agent)
    return agent


def the_agent(server: LiveServer) -> str:
    (only,) = wait_for(server.agents, 30, "the agent's enrolment")
    agent_id: str = only["id"]
    return agent_id


def record_keys(events: list[dict[str, object]]) -> Counter[tuple[str, str]]:
    """The events read from logs (not the agent's own), by source and record id."""
    return Counter(
        (str(e["source"]), str(e["event_record_id"]))
        for e in events
        if str(e["source"]).startswith(("winlog:", "journald:"))
    )


def recorded_journal(tmp_path: Path) -> tuple[str, set[tuple[str, str]]]:
    """A journalctl command printing every recorded journal sample, and their moments."""
    combined = tmp_path / "journal.json"
    lines = [line for p in sorted(JOURNALS.glob("*.json")) for line in p.read_text().splitlines()]
    combined.write_text("\n".join(lines) + "\n")
    found = (classify_journal(json.loads(line)) for line in lines)
    moments = {(o.source, str(o.event_record_id)) for o in found if o is not None}
    command = f"{sys.executable} {Path(agent_journalctl.__file__)} {combined}"
    return command, moments


def delivered(server: LiveServer, pc_id: str, moments: set[tuple[str, str]]) -> bool:
    return set(record_keys(server.timeline(pc_id))) >= moments


def check_exactly_once(server: LiveServer, pc_id: str, moments: set[tuple[str, str]]) -> None:
    events = server.timeline(pc_id)
    keys = record_keys(events)
    assert set(keys) == moments
    assert all(n == 1 for n in keys.values())
    damaged = [e for e in events if e["kind"] == "diagnostic"]
    assert [d["payload"]["code"] for d in damaged] == ["damaged_record"]  # type: ignore[index]


def test_the_agent_enrols_once_and_ships_every_timeline_moment(
    server: LiveServer, tmp_path: Path, logs: Path, agents: list[LiveAgent]
) -> None:
    moments, damaged = expected_timeline()
    assert damaged == 1 and len(moments) > 50
    journalctl, journal_moments = recorded_journal(tmp_path)
    assert len(journal_moments) == 8
    moments |= journal_moments
    agent = new_agent(server, tmp_path, logs, agents, "--journald", "--journalctl", journalctl)
    agent.start()
    pc_id = the_agent(server)
    wait_for(lambda: delivered(server, pc_id, moments), DELIVERY_S, "delivery")
    check_exactly_once(server, pc_id, moments)
    assert agent.terminate() == 0  # SIGTERM: a clean stop
    (listed,) = server.agents()
    assert listed["hostname"] and listed["agent_version"] == "0.1.0"

    agent.start()  # a restart: the same agent, nothing read twice
    wait_for(
        lambda: len([e for e in server.timeline(pc_id) if e["kind"] == "agent_started"]) == 2,
        DELIVERY_S,
        "the second agent_started",
    )
    assert agent.terminate() == 0
    assert [a["id"] for a in server.agents()] == [pc_id]
    check_exactly_once(server, pc_id, moments)
    started = [e for e in server.timeline(pc_id) if e["kind"] == "agent_started"]
    assert {e["source"] for e in started} == {"agent:startup"}
    assert started[0]["payload"]["agent_version"] == "0.1.0"  # type: ignore[index]
    logons = [e for e in server.timeline(pc_id) if e["source"] == "journald:systemd-logind"]
    assert sorted(str(e["payload"]["user"]) for e in logons if e["kind"] == "logon") == [  # type: ignore[index]
        "alice",
        "bob",
    ]  # the cron job's background session is no one's logon
    assert "enrolled as agent" in agent.logs()
    assert agent.logs().count("enrolled as agent") == 1


def test_kill_9_at_random_points_while_shipping_loses_and_repeats_nothing(
    server: LiveServer, tmp_path: Path, logs: Path, agents: list[LiveAgent]
) -> None:
    moments, _ = expected_timeline()
    # One event a request: many commits to be killed between.
    agent = new_agent(server, tmp_path, logs, agents, "--batch-size", "1")
    rng = random.Random(20251)
    agent.start()
    pc_id = the_agent(server)
    kills = 0
    for threshold in sorted(rng.sample(range(1, len(moments)), 4)):
        wait_for(
            lambda t=threshold: len(record_keys(server.timeline(pc_id))) >= t,
            DELIVERY_S,
            f"{threshold} events",
            interval=0.02,
        )
        agent.kill()
        kills += 1
        agent.start()
    time.sleep(rng.uniform(0.0, 0.5))  # and once more, wherever it is then
    agent.kill()
    agent.start()
    wait_for(lambda: delivered(server, pc_id, moments), DELIVERY_S, "delivery after the kills")
    assert agent.terminate() == 0
    check_exactly_once(server, pc_id, moments)
    started = [e for e in server.timeline(pc_id) if e["kind"] == "agent_started"]
    assert 1 <= len(started) <= kills + 2  # a start killed before it recorded itself is none


def moments_of(path: Path) -> set[tuple[str, str]]:
    found = (classify(r) for r in read_evtx(path) if isinstance(r, EventRecord))
    return {(o.source, str(o.event_record_id)) for o in found if o is not None}


def test_server_killed_while_ingesting_and_down_for_a_while(
    server: LiveServer, tmp_path: Path, logs: Path, agents: list[LiveAgent]
) -> None:
    moments, _ = expected_timeline()
    # One file arrives while the server is down, so the agent has something to
    # deliver then, whenever the kill lands in the first delivery.
    by_file = {p.name: moments_of(p) for p in fixture_files()}
    late = max(
        by_file,
        key=lambda n: len(by_file[n] - set().union(*(v for k, v in by_file.items() if k != n))),
    )
    held = tmp_path / late
    shutil.move(logs / late, held)
    agent = new_agent(server, tmp_path, logs, agents, "--batch-size", "2")
    agent.start()
    pc_id = the_agent(server)
    wait_for(
        lambda: len(record_keys(server.timeline(pc_id))) >= len(moments) // 4,
        DELIVERY_S,
        "the first quarter",
        interval=0.02,
    )
    server.kill()  # kill -9, mid-intake if the agent is still sending
    shutil.move(held, logs / late)
    wait_for(lambda: "retrying with backoff" in agent.logs(), 30, "a failed delivery")
    time.sleep(3)  # down for a while: the agent keeps trying, backing off
    server.start()
    wait_for(lambda: delivered(server, pc_id, moments), DELIVERY_S, "delivery after the outage")
    assert agent.terminate() == 0
    check_exactly_once(server, pc_id, moments)
